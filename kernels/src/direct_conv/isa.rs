//! Which vector instructions the direct kernels run on.

/// The vector instructions a direct kernel runs on, by arithmetic class
/// ([`crate::arithmetic_class`]). Both sum each output in the same order (inputs, then kernel
/// rows, then taps, one fused multiply-add each), so they agree bit for bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX2 + FMA: a tile's sixteen channels are two 8-lane vectors.
    Avx2,
    /// AVX-512F: a tile's sixteen channels are one 16-lane vector, the input broadcast from
    /// memory by the multiply-add itself, and 32 registers hold more pixels (or taps) per tile.
    Avx512,
}

impl Isa {
    /// The kernels of this machine's arithmetic class, `None` where there are none.
    pub fn of_machine() -> Option<Isa> {
        match crate::arithmetic_class() {
            "avx512" => Some(Isa::Avx512),
            "avx2" => Some(Isa::Avx2),
            _ => None,
        }
    }

    /// Every variant this CPU can run (the tests check each).
    #[cfg(test)]
    pub fn runnable() -> Vec<Isa> {
        let mut isas = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                isas.push(Isa::Avx2);
                if has!("avx512f") {
                    isas.push(Isa::Avx512);
                }
            }
        }
        isas
    }

    /// Pixels of one row per forward tile: on AVX2 `2 * 6` sums, two weight vectors and one
    /// broadcast input take 15 of the 16 registers; on AVX-512 16 sums and one weight vector
    /// take 17 of 32 (16 divides the 64, 32 and 16 pixel rows of the paper's pyramids).
    pub const fn pixels(self) -> usize {
        match self {
            Isa::Avx2 => 6,
            Isa::Avx512 => 16,
        }
    }

    /// Taps of a `kernel x kernel` kernel per weight-gradient pass: on AVX2 five (`2 * 5`
    /// sums, a pixel's two gradient vectors and one broadcast input in the 16 registers); on
    /// AVX-512 all of them (25 sums and one gradient vector for 5x5), so each padded input row
    /// is read once rather than five times.
    pub fn taps_per_pass(self, kernel: usize) -> usize {
        match self {
            Isa::Avx2 => 5,
            Isa::Avx512 => kernel * kernel,
        }
    }

    /// Panics unless this CPU has the instructions: the kernels' `unsafe` relies on it.
    pub fn assert_runnable(self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let ok = has!("avx2") && has!("fma") && (self == Isa::Avx2 || has!("avx512f"));
            assert!(ok, "the direct convolution's {self:?} kernel on a CPU without its instructions");
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("the direct convolution runs on x86-64 only");
    }
}

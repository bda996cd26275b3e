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
    /// The kernels of the level the kernels run at ([`crate::simd::level`]), `None` below AVX2.
    pub fn of_machine() -> Option<Isa> {
        match crate::simd::level() {
            crate::simd::SimdLevel::Avx512 => Some(Isa::Avx512),
            crate::simd::SimdLevel::Avx2 => Some(Isa::Avx2),
            crate::simd::SimdLevel::Scalar => None,
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

    /// The weight gradient's passes over a `kernel x kernel` kernel, as ranges of taps. On
    /// AVX2 near-equal groups of at most five taps (`2 * 5` sums, a pixel's two gradient
    /// vectors and one broadcast input in the 16 registers: 25 taps as 5 x 5, 9 as 5 + 4). On
    /// AVX-512 whole kernel rows, at most three per pass: each row's inputs are carried from
    /// pixel to pixel in registers (`3 * 5` sums and `3 * 4` carried inputs at 5x5), so a
    /// pixel costs one broadcast per kernel row rather than one per tap.
    pub fn gradient_passes(self, kernel: usize) -> Vec<std::ops::Range<usize>> {
        let (taps, most) = match self {
            Isa::Avx2 => (kernel * kernel, 5),
            Isa::Avx512 => (kernel, 3),
        };
        let len = taps.div_ceil(taps.div_ceil(most));
        let unit = if self == Isa::Avx512 { kernel } else { 1 };
        (0..taps).step_by(len).map(|first| first * unit..(first + len).min(taps) * unit).collect()
    }

    /// Whether the weight gradient of a `kernel x kernel` kernel takes two tiles of output
    /// channels per pass: on AVX-512 at 3x3 (18 sums, the inputs carried from pixel to pixel;
    /// at 5x5 one tile's 25 sums already fill the registers).
    pub fn pairs_gradient_tiles(self, kernel: usize) -> bool {
        self == Isa::Avx512 && kernel == 3
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

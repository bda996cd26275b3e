//! Output buffers zeroed by the compute threads.
//!
//! `vec![0.0; n]` zeroes on the calling thread alone (with [`crate::allocator`] keeping freed
//! memory, a large block is a reused heap block, which calloc clears with memset): a ConvLSTM
//! training step at the paper's size on an AVX-512 Xeon spent 4.0% of its samples in memset
//! on the main thread against 0.4% on the other, whose core waited meanwhile (the direct
//! forward's output, the LSTM operations' outputs and gate gradients; `perf record` by thread,
//! benchmarks/cpu-profile.md "Seventh pass").

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// Values per piece of a parallel fill (1 MiB): below it, zeroing one piece costs less than
/// handing it to another thread.
const PIECE: usize = 1 << 18;

/// `len` zeros, written in parallel pieces where there is more than one piece.
pub fn zeroed(len: usize) -> Vec<f32> {
    if len <= PIECE {
        return vec![0.0; len];
    }
    let mut values = Vec::with_capacity(len);
    values.spare_capacity_mut()[..len].par_chunks_mut(PIECE).for_each(|piece| piece.fill(MaybeUninit::new(0.0)));
    // SAFETY: every one of the first `len` values was written just above.
    unsafe { values.set_len(len) };
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_is_all_zeros_at_every_size() {
        for len in [0, 1, PIECE, PIECE + 1, 3 * PIECE + 17] {
            let values = zeroed(len);
            assert_eq!(values.len(), len);
            assert!(values.iter().all(|&v| v.to_bits() == 0), "a non-zero value at length {len}");
        }
    }
}

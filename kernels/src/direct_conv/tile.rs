//! The microkernel of the direct forward and input gradient: sixteen output channels (two
//! vectors) times up to six pixels of one row, summed in twelve registers over a pass's
//! inputs and taps.
//!
//! The weights of a tap are the vectors (aligned, one cache line for the sixteen channels);
//! the input pixels are broadcast, so no load crosses a cache line. The first version had it
//! the other way round (eight pixels per vector, six broadcast weights): a third of its input
//! loads were unaligned across two lines, and it ran at 82% of this CPU's FMA peak on one
//! core against PyTorch's 90% (oneDNN lays its AVX2 convolution out the same way as here).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Output channels per tile: two vectors of eight.
pub const CHANNELS: usize = 16;
/// Pixels per tile: `2 * PIXELS` = 12 sums, two weight vectors and one broadcast input take
/// 15 of the 16 registers.
pub const PIXELS: usize = 6;

/// One tap's weights for a tile's sixteen output channels, on a cache line of its own.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, Default)]
pub struct Block(pub [f32; CHANNELS]);

/// Where a pass's inputs lie in the padded band, and whether it is the first pass over them
/// (its sums start at zero; later ones continue from the stored partial sums, so the adds run
/// in the same order as in one pass).
pub struct Pass {
    /// Values per input in the padded band.
    pub plane: usize,
    /// Padded row length.
    pub stride: usize,
    pub inputs: usize,
    pub first: bool,
}

/// `pixels` output pixels of one row (their first window starting at `window` in each padded
/// input plane) times a tile's channels, over the pass's inputs, into `sums` (`[pixel]
/// [CHANNELS]` from the first pixel on).
pub fn tile(kernel: usize, padded: &[f32], pass: &Pass, weights: &[Block], window: usize, pixels: usize, sums: &mut [f32]) {
    let reach = window + (kernel - 1) * (pass.stride + 1) + pixels;
    assert!(pass.inputs > 0 && (pass.inputs - 1) * pass.plane + reach <= padded.len(), "a window past the padded band");
    assert!(weights.len() == pass.inputs * kernel * kernel, "weights of another pass");
    assert!(sums.len() >= pixels * CHANNELS && (1..=PIXELS).contains(&pixels), "sums too short");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are checked here; the windows, weights and sums were checked above.
    unsafe {
        assert!(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"));
        macro_rules! dispatch {
            ($($k:literal, $j:literal);*) => {
                match (kernel, pixels) {
                    $(($k, $j) => tile_avx2::<$k, $j>(padded, pass, weights, window, sums),)*
                    _ => unreachable!("kernel {kernel}, {pixels} pixels"),
                }
            };
        }
        dispatch!(3, 1; 3, 2; 3, 3; 3, 4; 3, 5; 3, 6; 5, 1; 5, 2; 5, 3; 5, 4; 5, 5; 5, 6)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("the direct convolution runs on x86-64 only");
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // the sums are indexed by vector and pixel together
unsafe fn tile_avx2<const K: usize, const J: usize>(padded: &[f32], pass: &Pass, weights: &[Block], window: usize, sums: &mut [f32]) {
    let mut acc = [[_mm256_setzero_ps(); J]; 2];
    if !pass.first {
        for j in 0..J {
            for v in 0..2 {
                acc[v][j] = unsafe { _mm256_loadu_ps(sums.as_ptr().add(j * CHANNELS + v * 8)) };
            }
        }
    }
    let mut w = weights.as_ptr() as *const f32;
    for i in 0..pass.inputs {
        // SAFETY (pointer arithmetic): within `padded` and `weights`, see `tile`.
        let x = unsafe { padded.as_ptr().add(i * pass.plane + window) };
        for ky in 0..K {
            let row = unsafe { x.add(ky * pass.stride) };
            for kx in 0..K {
                let p = unsafe { row.add(kx) };
                if J == PIXELS {
                    // SAFETY: the same type when J == PIXELS; 16 aligned values at w (a Block),
                    // 6 readable values at p.
                    let full = unsafe { &mut *(&mut acc as *mut [[__m256; J]; 2] as *mut [[__m256; PIXELS]; 2]) };
                    unsafe { tap_16x6(p, w, full) };
                } else {
                    let (w0, w1) = unsafe { (_mm256_load_ps(w), _mm256_load_ps(w.add(8))) };
                    for j in 0..J {
                        let b = unsafe { _mm256_broadcast_ss(&*p.add(j)) };
                        acc[0][j] = _mm256_fmadd_ps(w0, b, acc[0][j]);
                        acc[1][j] = _mm256_fmadd_ps(w1, b, acc[1][j]);
                    }
                }
                w = unsafe { w.add(CHANNELS) };
            }
        }
    }
    for j in 0..J {
        for v in 0..2 {
            unsafe { _mm256_storeu_ps(sums.as_mut_ptr().add(j * CHANNELS + v * 8), acc[v][j]) };
        }
    }
}

/// One tap of a full tile: `acc[v][j] += w[8v..8v+8] * p[j]`. Written out as instructions:
/// given the same intrinsics the compiler kept one of the twelve sums on the stack in some of
/// the kernel's instances (a load and a store per tap on the critical path).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tap_16x6(p: *const f32, w: *const f32, acc: &mut [[__m256; PIXELS]; 2]) {
    let [a, c] = acc;
    // SAFETY: the caller guarantees 16 aligned values at w and 6 readable values at p.
    unsafe {
        std::arch::asm!(
            "vmovaps {w0}, ymmword ptr [{w}]",
            "vmovaps {w1}, ymmword ptr [{w} + 32]",
            "vbroadcastss {v}, dword ptr [{p}]",
            "vfmadd231ps {a0}, {w0}, {v}",
            "vfmadd231ps {c0}, {w1}, {v}",
            "vbroadcastss {v}, dword ptr [{p} + 4]",
            "vfmadd231ps {a1}, {w0}, {v}",
            "vfmadd231ps {c1}, {w1}, {v}",
            "vbroadcastss {v}, dword ptr [{p} + 8]",
            "vfmadd231ps {a2}, {w0}, {v}",
            "vfmadd231ps {c2}, {w1}, {v}",
            "vbroadcastss {v}, dword ptr [{p} + 12]",
            "vfmadd231ps {a3}, {w0}, {v}",
            "vfmadd231ps {c3}, {w1}, {v}",
            "vbroadcastss {v}, dword ptr [{p} + 16]",
            "vfmadd231ps {a4}, {w0}, {v}",
            "vfmadd231ps {c4}, {w1}, {v}",
            "vbroadcastss {v}, dword ptr [{p} + 20]",
            "vfmadd231ps {a5}, {w0}, {v}",
            "vfmadd231ps {c5}, {w1}, {v}",
            p = in(reg) p,
            w = in(reg) w,
            w0 = out(ymm_reg) _,
            w1 = out(ymm_reg) _,
            v = out(ymm_reg) _,
            a0 = inout(ymm_reg) a[0],
            a1 = inout(ymm_reg) a[1],
            a2 = inout(ymm_reg) a[2],
            a3 = inout(ymm_reg) a[3],
            a4 = inout(ymm_reg) a[4],
            a5 = inout(ymm_reg) a[5],
            c0 = inout(ymm_reg) c[0],
            c1 = inout(ymm_reg) c[1],
            c2 = inout(ymm_reg) c[2],
            c3 = inout(ymm_reg) c[3],
            c4 = inout(ymm_reg) c[4],
            c5 = inout(ymm_reg) c[5],
            options(nostack, readonly, pure),
        );
    }
}

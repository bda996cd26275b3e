//! The microkernels of the direct forward and input gradient: sixteen output channels (two
//! AVX2 vectors or one AVX-512 vector) times up to [`Isa::pixels`] pixels of one row, summed
//! in registers over a pass's inputs and taps.
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
use super::Isa;

/// One tap's weights for a tile's sixteen output channels, on a cache line of its own (one
/// aligned AVX-512 load).
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
/// [CHANNELS]` from the first pixel on), on `isa`'s kernel.
#[allow(clippy::too_many_arguments)]
pub fn tile(isa: Isa, kernel: usize, padded: &[f32], pass: &Pass, weights: &[Block], window: usize, pixels: usize, sums: &mut [f32]) {
    let reach = window + (kernel - 1) * (pass.stride + 1) + pixels;
    assert!(pass.inputs > 0 && (pass.inputs - 1) * pass.plane + reach <= padded.len(), "a window past the padded band");
    assert!(weights.len() == pass.inputs * kernel * kernel, "weights of another pass");
    assert!(sums.len() >= pixels * CHANNELS && (1..=isa.pixels()).contains(&pixels), "sums too short");
    isa.assert_runnable();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the instructions were checked just above; the windows, weights and sums before.
    unsafe {
        macro_rules! by_pixels {
            ($kernel_fn:ident, $k:literal, $($j:literal)*) => {
                match pixels {
                    $($j => $kernel_fn::<$k, $j>(padded, pass, weights, window, sums),)*
                    _ => unreachable!("{pixels} pixels"),
                }
            };
        }
        match (isa, kernel) {
            (Isa::Avx2, 3) => by_pixels!(tile_avx2, 3, 1 2 3 4 5 6),
            (Isa::Avx2, 5) => by_pixels!(tile_avx2, 5, 1 2 3 4 5 6),
            (Isa::Avx512, 3) => by_pixels!(tile_avx512, 3, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16),
            (Isa::Avx512, 5) => by_pixels!(tile_avx512, 5, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16),
            _ => unreachable!("a {kernel}x{kernel} kernel"),
        }
    }
}

/// The AVX-512 tile: one weight vector per tap, each of the `J` pixels broadcast from memory
/// by its multiply-add (`{1to16}`), `J` sums. Per output lane the same multiply-adds in the
/// same order as [`tile_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::needless_range_loop)] // the sums are indexed by pixel alongside the input
unsafe fn tile_avx512<const K: usize, const J: usize>(padded: &[f32], pass: &Pass, weights: &[Block], window: usize, sums: &mut [f32]) {
    const FULL: usize = Isa::Avx512.pixels();
    let mut acc = [_mm512_setzero_ps(); J];
    if !pass.first {
        for j in 0..J {
            acc[j] = unsafe { _mm512_loadu_ps(sums.as_ptr().add(j * CHANNELS)) };
        }
    }
    let mut w = weights.as_ptr() as *const f32;
    for i in 0..pass.inputs {
        // SAFETY (pointer arithmetic and loads): within `padded` and `weights`, see `tile`;
        // `w` is a Block, 64-byte aligned.
        let x = unsafe { padded.as_ptr().add(i * pass.plane + window) };
        for ky in 0..K {
            let row = unsafe { x.add(ky * pass.stride) };
            for kx in 0..K {
                let p = unsafe { row.add(kx) };
                if J == FULL {
                    // SAFETY: the same type when J == FULL; 16 aligned values at w (a Block),
                    // 16 readable values at p.
                    let full = unsafe { &mut *(&mut acc as *mut [__m512; J] as *mut [__m512; FULL]) };
                    unsafe { tap_16x16(p, w, full) };
                } else {
                    let weight = unsafe { _mm512_load_ps(w) };
                    for j in 0..J {
                        acc[j] = _mm512_fmadd_ps(weight, _mm512_set1_ps(unsafe { *p.add(j) }), acc[j]);
                    }
                }
                w = unsafe { w.add(CHANNELS) };
            }
        }
    }
    for j in 0..J {
        unsafe { _mm512_storeu_ps(sums.as_mut_ptr().add(j * CHANNELS), acc[j]) };
    }
}

/// The AVX2 tile: two weight vectors per tap, six pixels broadcast one by one, twelve sums
/// (the full tile written out as instructions, [`tap_16x6`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // the sums are indexed by vector and pixel together
unsafe fn tile_avx2<const K: usize, const J: usize>(padded: &[f32], pass: &Pass, weights: &[Block], window: usize, sums: &mut [f32]) {
    const FULL: usize = Isa::Avx2.pixels();
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
                if J == FULL {
                    // SAFETY: the same type when J == FULL; 16 aligned values at w (a Block),
                    // 6 readable values at p.
                    let full = unsafe { &mut *(&mut acc as *mut [[__m256; J]; 2] as *mut [[__m256; FULL]; 2]) };
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
unsafe fn tap_16x6(p: *const f32, w: *const f32, acc: &mut [[__m256; 6]; 2]) {
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

/// One tap of a full AVX-512 tile: `acc[j] += w * p[j]`, each pixel broadcast by its own
/// multiply-add. Given the intrinsics the compiler loaded the row's values once into
/// registers for all taps of a kernel row instead: 16 sums, one weight and 18 broadcast
/// values do not fit 32 registers at 3x3, and it kept ten values on the stack.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tap_16x16(p: *const f32, w: *const f32, acc: &mut [__m512; 16]) {
    // SAFETY: the caller guarantees 16 aligned values at w and 16 readable values at p.
    unsafe {
        std::arch::asm!(
            "vmovaps {w0}, zmmword ptr [{w}]",
            "vfmadd231ps {a0}, {w0}, dword ptr [{p}]{{1to16}}",
            "vfmadd231ps {a1}, {w0}, dword ptr [{p} + 4]{{1to16}}",
            "vfmadd231ps {a2}, {w0}, dword ptr [{p} + 8]{{1to16}}",
            "vfmadd231ps {a3}, {w0}, dword ptr [{p} + 12]{{1to16}}",
            "vfmadd231ps {a4}, {w0}, dword ptr [{p} + 16]{{1to16}}",
            "vfmadd231ps {a5}, {w0}, dword ptr [{p} + 20]{{1to16}}",
            "vfmadd231ps {a6}, {w0}, dword ptr [{p} + 24]{{1to16}}",
            "vfmadd231ps {a7}, {w0}, dword ptr [{p} + 28]{{1to16}}",
            "vfmadd231ps {a8}, {w0}, dword ptr [{p} + 32]{{1to16}}",
            "vfmadd231ps {a9}, {w0}, dword ptr [{p} + 36]{{1to16}}",
            "vfmadd231ps {a10}, {w0}, dword ptr [{p} + 40]{{1to16}}",
            "vfmadd231ps {a11}, {w0}, dword ptr [{p} + 44]{{1to16}}",
            "vfmadd231ps {a12}, {w0}, dword ptr [{p} + 48]{{1to16}}",
            "vfmadd231ps {a13}, {w0}, dword ptr [{p} + 52]{{1to16}}",
            "vfmadd231ps {a14}, {w0}, dword ptr [{p} + 56]{{1to16}}",
            "vfmadd231ps {a15}, {w0}, dword ptr [{p} + 60]{{1to16}}",
            p = in(reg) p,
            w = in(reg) w,
            w0 = out(zmm_reg) _,
            a0 = inout(zmm_reg) acc[0],
            a1 = inout(zmm_reg) acc[1],
            a2 = inout(zmm_reg) acc[2],
            a3 = inout(zmm_reg) acc[3],
            a4 = inout(zmm_reg) acc[4],
            a5 = inout(zmm_reg) acc[5],
            a6 = inout(zmm_reg) acc[6],
            a7 = inout(zmm_reg) acc[7],
            a8 = inout(zmm_reg) acc[8],
            a9 = inout(zmm_reg) acc[9],
            a10 = inout(zmm_reg) acc[10],
            a11 = inout(zmm_reg) acc[11],
            a12 = inout(zmm_reg) acc[12],
            a13 = inout(zmm_reg) acc[13],
            a14 = inout(zmm_reg) acc[14],
            a15 = inout(zmm_reg) acc[15],
            options(nostack, readonly, pure),
        );
    }
}

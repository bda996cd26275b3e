//! Between the kernels' layout (a pixel's sixteen channels together, [`Block`]s) and the
//! planes the rest of vpbench reads (a channel's pixels together), sixteen by sixteen values
//! at a time in AVX-512 registers.
//!
//! Value by value, the forward's write-out and the weight gradient's `dy` blocks took one
//! load and one store per value: against a 3x3 kernel's 18 vector multiply-adds per output
//! value at 32 inputs, that was most of the direct forward's gap to gemm's at 3x3 on an
//! AVX-512 machine. A 16x16 transpose in registers is 64 shuffles per 256 values.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::tile::{Block, CHANNELS};

/// Pixels per transposed block: one vector of them per channel.
pub const PIXELS: usize = 16;

/// `planes[n][p] = sums[p * 16 + n] + bias[n]` for the 16 pixels of `sums` (`[pixel]
/// [channel]`) and each channel `n` whose plane is not null.
///
/// # Safety
/// Each non-null `planes[n]` points to 16 writable values no other thread writes; the CPU
/// has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub unsafe fn sums_to_planes(sums: &[f32; PIXELS * CHANNELS], planes: &[*mut f32; CHANNELS], bias: &[f32; CHANNELS]) {
    let mut rows = [_mm512_setzero_ps(); PIXELS];
    for (row, pixel) in rows.iter_mut().zip(sums.chunks_exact(CHANNELS)) {
        *row = unsafe { _mm512_loadu_ps(pixel.as_ptr()) };
    }
    let channels = transpose_16x16(rows);
    for n in 0..CHANNELS {
        if !planes[n].is_null() {
            let value = _mm512_add_ps(channels[n], _mm512_set1_ps(bias[n]));
            unsafe { _mm512_storeu_ps(planes[n], value) };
        }
    }
}

/// `blocks[p].0[n] = planes[n][p]` for 16 pixels, zero where `planes[n]` is `None`.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub unsafe fn planes_to_blocks(planes: &[Option<&[f32]>; CHANNELS], blocks: &mut [Block; PIXELS]) {
    let mut rows = [_mm512_setzero_ps(); CHANNELS];
    for (row, plane) in rows.iter_mut().zip(planes) {
        if let Some(plane) = plane {
            assert!(plane.len() >= PIXELS, "a plane shorter than the block");
            *row = unsafe { _mm512_loadu_ps(plane.as_ptr()) };
        }
    }
    let pixels = transpose_16x16(rows);
    for (block, pixel) in blocks.iter_mut().zip(pixels) {
        unsafe { _mm512_store_ps(block.0.as_mut_ptr(), pixel) };
    }
}

/// `out[j]` lane `i` = `rows[i]` lane `j`: 32-bit then 64-bit interleaves within 128-bit
/// lanes, then two rounds of 128-bit lane shuffles.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn transpose_16x16(r: [__m512; 16]) -> [__m512; 16] {
    // t[2k], t[2k+1]: rows 2k and 2k+1 interleaved (lane L: their channels 4L, 4L+1 / 4L+2, 4L+3)
    let mut t = [_mm512_setzero_ps(); 16];
    for k in 0..8 {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    // u[4g + e], lane L: rows 4g..4g+4 at channel 4L + e
    let mut u = [_mm512_setzero_ps(); 16];
    for g in 0..4 {
        for half in 0..2 {
            let (a, b) = (_mm512_castps_pd(t[4 * g + half]), _mm512_castps_pd(t[4 * g + 2 + half]));
            u[4 * g + 2 * half] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            u[4 * g + 2 * half + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        }
    }
    // for channel 4L + e the rows come from lane L of u[e], u[4 + e], u[8 + e], u[12 + e]
    let mut out = [_mm512_setzero_ps(); 16];
    for e in 0..4 {
        let (v_even, v_odd) = (_mm512_shuffle_f32x4::<0x88>(u[e], u[4 + e]), _mm512_shuffle_f32x4::<0xdd>(u[e], u[4 + e]));
        let (w_even, w_odd) = (_mm512_shuffle_f32x4::<0x88>(u[8 + e], u[12 + e]), _mm512_shuffle_f32x4::<0xdd>(u[8 + e], u[12 + e]));
        out[e] = _mm512_shuffle_f32x4::<0x88>(v_even, w_even);
        out[8 + e] = _mm512_shuffle_f32x4::<0xdd>(v_even, w_even);
        out[4 + e] = _mm512_shuffle_f32x4::<0x88>(v_odd, w_odd);
        out[12 + e] = _mm512_shuffle_f32x4::<0xdd>(v_odd, w_odd);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_blocks_transpose_both_ways() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            eprintln!("SKIPPED sums_and_blocks_transpose_both_ways: this CPU lacks AVX-512F");
            return;
        }
        let sums: [f32; PIXELS * CHANNELS] = std::array::from_fn(|i| ((i / CHANNELS) * 100 + i % CHANNELS) as f32);
        let bias: [f32; CHANNELS] = std::array::from_fn(|n| n as f32 * 0.5);
        let mut planes = vec![[f32::NAN; PIXELS]; CHANNELS];
        let mut pointers: [*mut f32; CHANNELS] = std::array::from_fn(|_| std::ptr::null_mut());
        for (n, plane) in planes.iter_mut().enumerate().filter(|(n, _)| n % 5 != 3) {
            pointers[n] = plane.as_mut_ptr();
        }
        // SAFETY: AVX-512F checked; each pointer is a plane of 16 values.
        unsafe { sums_to_planes(&sums, &pointers, &bias) };
        for (n, plane) in planes.iter().enumerate() {
            for (p, &v) in plane.iter().enumerate() {
                if n % 5 == 3 {
                    assert!(v.is_nan(), "channel {n} was not wanted, yet written");
                } else {
                    assert_eq!(v, (p * 100 + n) as f32 + bias[n], "channel {n}, pixel {p}");
                }
            }
        }
        let sources: [Option<&[f32]>; CHANNELS] = std::array::from_fn(|n| (n != 7).then_some(&planes[n][..]));
        let mut back = [Block::default(); PIXELS];
        // SAFETY: AVX-512F checked.
        unsafe { planes_to_blocks(&sources, &mut back) };
        for (p, block) in back.iter().enumerate() {
            for (n, &v) in block.0.iter().enumerate() {
                let expected = if n == 7 { 0.0 } else { planes[n][p] };
                assert!(v == expected || (v.is_nan() && expected.is_nan()), "pixel {p}, channel {n}: {v} vs {expected}");
            }
        }
    }
}

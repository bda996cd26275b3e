//! Patch matrices of one NCHW image (its channels possibly in several tensors) and their adjoint, for stride-1 convolutions.
//!
//! Row `(c * kh + ky) * kw + kx` of the patch matrix is channel `c` shifted by
//! `(ky - pad_h, kx - pad_w)` with zeros outside the image, so every row is built from
//! contiguous copies of input rows and the matrix product that follows reads it row-major.

use std::ops::Range;

use crate::conv::ConvGeometry;
use crate::conv_input::Input;

/// The output columns `[lo, hi)` whose input column `ox + kx - pad_w` lies inside the image.
fn valid_columns(g: &ConvGeometry, kx: usize) -> (usize, usize) {
    let lo = g.pad_w.saturating_sub(kx).min(g.out_w);
    let hi = (g.width + g.pad_w).saturating_sub(kx).min(g.out_w).max(lo);
    (lo, hi)
}

/// The input row that output row `oy` reads at kernel row `ky`, if inside the image.
fn input_row(g: &ConvGeometry, oy: usize, ky: usize) -> Option<usize> {
    (oy + ky).checked_sub(g.pad_h).filter(|&iy| iy < g.height)
}

/// `dst = src` for the short runs of one image row (tens of values): fixed-size copies
/// the compiler keeps in vector registers, the last one overlapping the one before. A
/// `memcpy` call per run cost as much as the copying (perf: 6% of a training step).
#[inline]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    fn blocks<const N: usize>(dst: &mut [f32], src: &[f32]) {
        let len = dst.len();
        let mut start = 0;
        while start + N <= len {
            let block: [f32; N] = src[start..start + N].try_into().expect("N values");
            dst[start..start + N].copy_from_slice(&block);
            start += N;
        }
        if start < len {
            let last = len - N;
            let block: [f32; N] = src[last..len].try_into().expect("N values");
            dst[last..len].copy_from_slice(&block);
        }
    }
    assert_eq!(dst.len(), src.len(), "copy_short: lengths differ");
    match dst.len() {
        16.. => blocks::<16>(dst, src),
        8.. => blocks::<8>(dst, src),
        4.. => blocks::<4>(dst, src),
        _ => dst.iter_mut().zip(src).for_each(|(d, &s)| *d = s),
    }
}

/// `dst = 0` for the few padding values at a row's ends (a loop over them became a
/// `memset` call per run).
#[inline]
fn zero_short(dst: &mut [f32]) {
    match dst {
        [] => {}
        [a] => *a = 0.0,
        [a, b] => [*a, *b] = [0.0; 2],
        [a, b, c] => [*a, *b, *c] = [0.0; 3],
        longer => longer.fill(0.0),
    }
}

/// Output rows `rows` of the patch matrix of joined channels `channels` of image `b`: fills
/// `col` (`[channels.len() * kh * kw, rows.len() * out_w]`).
pub fn im2col(g: &ConvGeometry, input: &Input, b: usize, channels: Range<usize>, rows: Range<usize>, col: &mut [f32]) {
    let n = rows.len() * g.out_w;
    let taps = g.kernel_h * g.kernel_w;
    for (r, row) in col[..channels.len() * taps * n].chunks_exact_mut(n).enumerate() {
        let (c, ky, kx) = (channels.start + r / taps, (r / g.kernel_w) % g.kernel_h, r % g.kernel_w);
        let plane = input.plane(b, c);
        let (lo, hi) = valid_columns(g, kx);
        for (oy, out) in rows.clone().zip(row.chunks_exact_mut(g.out_w)) {
            let Some(iy) = input_row(g, oy, ky) else {
                out.fill(0.0);
                continue;
            };
            let src = &plane[iy * g.width..][..g.width];
            zero_short(&mut out[..lo]);
            copy_short(&mut out[lo..hi], &src[lo + kx - g.pad_w..hi + kx - g.pad_w]);
            zero_short(&mut out[hi..]);
        }
    }
}

/// Adds the patch-matrix gradient `dcol` of joined channels `channels`, output rows `rows`,
/// onto one image's input gradients: `dx[part]` is that part's `[channels, h, w]` gradient
/// (zeroed by the caller before the first tile), `None` where not wanted. The adjoint of
/// [`im2col`].
pub fn col2im(g: &ConvGeometry, input: &Input, dcol: &[f32], channels: Range<usize>, rows: Range<usize>, dx: &mut [Option<&mut [f32]>]) {
    let n = rows.len() * g.out_w;
    let taps = g.kernel_h * g.kernel_w;
    let plane_len = g.height * g.width;
    for (row_block, c) in channels.enumerate() {
        let (part, local) = input.locate(c);
        let Some(dx_part) = dx[part].as_deref_mut() else { continue };
        let plane = &mut dx_part[local * plane_len..][..plane_len];
        for tap in 0..taps {
            let (ky, kx) = (tap / g.kernel_w, tap % g.kernel_w);
            let row = &dcol[(row_block * taps + tap) * n..][..n];
            let (lo, hi) = valid_columns(g, kx);
            for (oy, src) in rows.clone().zip(row.chunks_exact(g.out_w)) {
                let Some(iy) = input_row(g, oy, ky) else { continue };
                let dst = &mut plane[iy * g.width + lo + kx - g.pad_w..][..hi - lo];
                for (d, s) in dst.iter_mut().zip(&src[lo..hi]) {
                    *d += s;
                }
            }
        }
    }
}

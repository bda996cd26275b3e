//! Patch matrices of one NCHW image and their adjoint, for stride-1 convolutions.
//!
//! Row `(c * kh + ky) * kw + kx` of the patch matrix is channel `c` shifted by
//! `(ky - pad_h, kx - pad_w)` with zeros outside the image, so every row is built from
//! contiguous copies of input rows and the matrix product that follows reads it row-major.

use std::ops::Range;

use crate::conv::ConvGeometry;

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

/// Output rows `rows` of the patch matrix: fills `col` (`[cin * kh * kw, rows.len() * out_w]`)
/// from one image `x` (`[cin, h, w]`).
pub fn im2col(g: &ConvGeometry, x: &[f32], rows: Range<usize>, col: &mut [f32]) {
    let n = rows.len() * g.out_w;
    for (r, row) in col[..g.patch_len() * n].chunks_exact_mut(n).enumerate() {
        let (c, ky, kx) = (r / (g.kernel_h * g.kernel_w), (r / g.kernel_w) % g.kernel_h, r % g.kernel_w);
        let plane = &x[c * g.height * g.width..][..g.height * g.width];
        let (lo, hi) = valid_columns(g, kx);
        for (oy, out) in rows.clone().zip(row.chunks_exact_mut(g.out_w)) {
            let Some(iy) = input_row(g, oy, ky) else {
                out.fill(0.0);
                continue;
            };
            let src = &plane[iy * g.width..][..g.width];
            out[..lo].fill(0.0);
            out[lo..hi].copy_from_slice(&src[lo + kx - g.pad_w..hi + kx - g.pad_w]);
            out[hi..].fill(0.0);
        }
    }
}

/// Adds the patch-matrix gradient `dcol` of output rows `rows` onto the image gradient `dx`
/// (`[cin, h, w]`, zeroed by the caller before the first tile): the adjoint of [`im2col`].
pub fn col2im(g: &ConvGeometry, dcol: &[f32], rows: Range<usize>, dx: &mut [f32]) {
    let n = rows.len() * g.out_w;
    let taps = g.kernel_h * g.kernel_w;
    for (c, plane) in dx.chunks_exact_mut(g.height * g.width).enumerate() {
        for tap in 0..taps {
            let (ky, kx) = (tap / g.kernel_w, tap % g.kernel_w);
            let row = &dcol[(c * taps + tap) * n..][..n];
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

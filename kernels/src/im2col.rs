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
        if g.out_w == g.width {
            shifted_rows(g, plane, ky, kx, rows.clone(), row);
        } else {
            row_by_row(g, plane, ky, kx, rows.clone(), row);
        }
    }
}

/// One patch row (kernel tap `(ky, kx)` of one channel `plane`) over output rows `rows`,
/// built image row by image row: the general path.
fn row_by_row(g: &ConvGeometry, plane: &[f32], ky: usize, kx: usize, rows: Range<usize>, row: &mut [f32]) {
    let (lo, hi) = valid_columns(g, kx);
    for (oy, out) in rows.zip(row.chunks_exact_mut(g.out_w)) {
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

/// The output rows of `rows` whose input row at kernel row `ky` lies inside the image.
fn valid_rows(g: &ConvGeometry, ky: usize, rows: Range<usize>) -> Range<usize> {
    let first = rows.start.max(g.pad_h.saturating_sub(ky));
    let end = rows.end.min((g.height + g.pad_h).saturating_sub(ky)).max(first);
    first..end
}

/// Where one patch row of a "same" convolution meets the input plane (see [`shifted_rows`]),
/// positions relative to the patch row's first output row.
struct Shift {
    /// The patch row's values `head..tail` lie on output rows whose input row is inside
    /// the image; the others are zero.
    head: usize,
    tail: usize,
    /// Within each output row, the columns `lo..hi` read inside the image.
    lo: usize,
    hi: usize,
    /// The one contiguous run `start..end` of the patch row that maps onto the plane from
    /// `source` on: from the first valid column of the first valid row to the last valid
    /// column of the last.
    start: usize,
    end: usize,
    source: usize,
}

impl Shift {
    /// `None` when the tap never meets the image over `rows` (the patch row is all zero).
    fn of(g: &ConvGeometry, ky: usize, kx: usize, rows: Range<usize>) -> Option<Self> {
        let w = g.width;
        let valid = valid_rows(g, ky, rows.clone());
        let (lo, hi) = valid_columns(g, kx);
        if valid.is_empty() || lo == hi {
            return None;
        }
        let (head, tail) = ((valid.start - rows.start) * w, (valid.end - rows.start) * w);
        // Output (oy, ox) reads input (oy + ky - pad_h, ox + kx - pad_w).
        let source = (valid.start + ky - g.pad_h) * w + lo + kx - g.pad_w;
        Some(Self { head, tail, lo, hi, start: head + lo, end: tail - w + hi, source })
    }

    /// Zeroes the padding columns of every valid output row of `row`: the long run puts
    /// the neighbouring image row's values there.
    ///
    /// The counts are the same on every line, so the common ones (kernels up to 5x5) are
    /// fixed at compile time: a length dispatched per line cost more than the stores
    /// (perf: 5.5% of a TMS-LSTM training step, mostly the indirect jump).
    fn zero_padding_columns(&self, row: &mut [f32], w: usize) {
        let lines = row[self.head..self.tail].chunks_exact_mut(w);
        match (self.lo, w - self.hi) {
            (0, 0) => {}
            (1, 0) => zero_ends::<1, 0>(lines),
            (2, 0) => zero_ends::<2, 0>(lines),
            (0, 1) => zero_ends::<0, 1>(lines),
            (0, 2) => zero_ends::<0, 2>(lines),
            _ => lines.for_each(|line| {
                zero_short(&mut line[..self.lo]);
                zero_short(&mut line[self.hi..]);
            }),
        }
    }
}

/// Zeroes the first `LEFT` and last `RIGHT` values of every line.
#[inline(always)]
fn zero_ends<'a, const LEFT: usize, const RIGHT: usize>(lines: impl Iterator<Item = &'a mut [f32]>) {
    for line in lines {
        let end = line.len();
        line[..LEFT].fill(0.0);
        line[end - RIGHT..].fill(0.0);
    }
}

/// Where the output and input rows are equally wide ("same" padding), one patch row over
/// consecutive output rows is the input plane shifted by `(ky - pad_h) * w + kx - pad_w`,
/// except for the `kx`-dependent padding columns at each row's ends. So it is one long copy
/// and then those few columns zeroed: per image row, the short copies of [`im2col`]'s
/// general path cost more in loop overhead than in copying (a 32-pixel row is two vectors).
/// The values are the same as the general path's.
fn shifted_rows(g: &ConvGeometry, plane: &[f32], ky: usize, kx: usize, rows: Range<usize>, out: &mut [f32]) {
    let Some(shift) = Shift::of(g, ky, kx, rows) else {
        out.fill(0.0);
        return;
    };
    out[..shift.head].fill(0.0);
    out[shift.tail..].fill(0.0);
    let len = shift.end - shift.start;
    out[shift.start..shift.end].copy_from_slice(&plane[shift.source..shift.source + len]);
    shift.zero_padding_columns(out, g.width);
}

/// Adds the patch-matrix gradient `dcol` of joined channels `channels`, output rows `rows`,
/// onto one image's input gradients: `dx[part]` is that part's `[channels, h, w]` gradient
/// (zeroed by the caller before the first tile), `None` where not wanted. The adjoint of
/// [`im2col`]. `dcol` is scratch: its values at padding positions are overwritten.
pub fn col2im(g: &ConvGeometry, input: &Input, dcol: &mut [f32], channels: Range<usize>, rows: Range<usize>, dx: &mut [Option<&mut [f32]>]) {
    let n = rows.len() * g.out_w;
    let taps = g.kernel_h * g.kernel_w;
    let plane_len = g.height * g.width;
    for (row_block, c) in channels.enumerate() {
        let (part, local) = input.locate(c);
        let Some(dx_part) = dx[part].as_deref_mut() else { continue };
        let plane = &mut dx_part[local * plane_len..][..plane_len];
        for tap in 0..taps {
            let (ky, kx) = (tap / g.kernel_w, tap % g.kernel_w);
            let row = &mut dcol[(row_block * taps + tap) * n..][..n];
            if g.out_w == g.width {
                add_shifted_rows(g, row, ky, kx, rows.clone(), plane);
            } else {
                add_row_by_row(g, row, ky, kx, rows.clone(), plane);
            }
        }
    }
}

/// The adjoint of [`row_by_row`].
fn add_row_by_row(g: &ConvGeometry, row: &[f32], ky: usize, kx: usize, rows: Range<usize>, plane: &mut [f32]) {
    let (lo, hi) = valid_columns(g, kx);
    for (oy, src) in rows.zip(row.chunks_exact(g.out_w)) {
        let Some(iy) = input_row(g, oy, ky) else { continue };
        let dst = &mut plane[iy * g.width + lo + kx - g.pad_w..][..hi - lo];
        for (d, s) in dst.iter_mut().zip(&src[lo..hi]) {
            *d += s;
        }
    }
}

/// The adjoint of [`shifted_rows`]: one long add of the patch row onto the shifted plane,
/// after zeroing the row's padding columns (they would land on the neighbouring image row).
/// Each gradient value gets the same additions in the same order as on the general path,
/// plus exact zeros, which leave it unchanged (it starts at +0.0, so it is never -0.0).
fn add_shifted_rows(g: &ConvGeometry, row: &mut [f32], ky: usize, kx: usize, rows: Range<usize>, plane: &mut [f32]) {
    let Some(shift) = Shift::of(g, ky, kx, rows) else { return };
    shift.zero_padding_columns(row, g.width);
    let len = shift.end - shift.start;
    for (d, s) in plane[shift.source..shift.source + len].iter_mut().zip(&row[shift.start..shift.end]) {
        *d += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values with distinct bits, so that a misplaced or missing value shows.
    fn ramp(len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|i| ((i * 7919) % 1013) as f32 * scale - 3.0).collect()
    }

    /// The one-copy paths must give the general path's values bit for bit: the convolution
    /// stays exact against the authors' tensors only if nothing is reordered.
    #[test]
    fn shifted_rows_equal_the_row_by_row_path() {
        // (height, width, kernel, output rows): several tiles, a kernel taller than the
        // image, one row.
        for (h, w, k, rows) in [(9, 13, 5, 0..9), (9, 13, 5, 3..7), (6, 8, 3, 5..6), (3, 2, 5, 0..3), (7, 4, 1, 2..5)] {
            let pad = k / 2;
            let g = ConvGeometry::new([1, 1, h, w], [1, 1, k, k], [pad, pad]).expect("a valid geometry");
            assert_eq!(g.out_w, g.width, "a same-width case");
            let plane = ramp(h * w, 0.37);
            let n = rows.len() * w;
            for (ky, kx) in (0..k).flat_map(|ky| (0..k).map(move |kx| (ky, kx))) {
                let label = format!("{h}x{w}, kernel {k}, rows {rows:?}, tap ({ky}, {kx})");
                let (mut fast, mut general) = (vec![f32::NAN; n], vec![f32::NAN; n]);
                shifted_rows(&g, &plane, ky, kx, rows.clone(), &mut fast);
                row_by_row(&g, &plane, ky, kx, rows.clone(), &mut general);
                assert_eq!(fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), general.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "im2col, {label}");

                let dcol = ramp(n, 0.11);
                let (mut fast_dx, mut general_dx) = (ramp(h * w, 0.05), ramp(h * w, 0.05));
                add_shifted_rows(&g, &mut dcol.clone(), ky, kx, rows.clone(), &mut fast_dx);
                add_row_by_row(&g, &dcol, ky, kx, rows.clone(), &mut general_dx);
                assert_eq!(fast_dx.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), general_dx.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "col2im, {label}");
            }
        }
    }
}

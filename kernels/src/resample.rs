//! The pyramid models' resampling between levels, plane by plane: `nn.MaxPool2d(2, 2)` with
//! its backward, and the forward of `nn.Upsample(scale_factor=2, mode='bilinear')`
//! (align_corners=False).
//!
//! burn-flex 0.22 pools through its general 3-D pooling with indices, and the upsampling is
//! written for burn's GPU backends as slices, scalings, sums and a stack (they have no
//! bilinear backward): about fifteen tensors per upsampling. At the paper's size the two were
//! about 6% of an SMS-LSTM step's samples forward (benchmarks/cpu-profile.md, "Eighth pass").
//! Here each plane is one task on rayon's threads, read once and written once.

use rayon::prelude::*;

use crate::zeroed::zeroed;

/// Planes per parallel task: at least this many values each, so small tensors stay serial.
const TASK_VALUES: usize = 1 << 14;

fn planes_per_task(plane: usize) -> usize {
    TASK_VALUES.div_ceil(plane.max(1))
}

/// Runs `f(input plane, output plane)` over matching planes of `input` and `out`.
fn each_plane(input: &[f32], in_plane: usize, out: &mut [f32], out_plane: usize, f: impl Fn(&[f32], &mut [f32]) + Sync) {
    let per_task = planes_per_task(in_plane.max(out_plane));
    out.par_chunks_mut(out_plane * per_task)
        .zip(input.par_chunks(in_plane * per_task))
        .for_each(|(out, input)| {
            for (o, i) in out.chunks_mut(out_plane).zip(input.chunks(in_plane)) {
                f(i, o);
            }
        });
}

/// Max over each 2x2 window of `[planes, h, w]` (trailing odd row and column dropped, as
/// PyTorch floors): the maxima `[planes, h/2, w/2]` and which of the window's four values
/// (row-major) each came from: the first of equal ones, the last NaN (NaN wins), as PyTorch
/// and burn pick.
pub fn max_pool_2x(input: &[f32], planes: usize, [h, w]: [usize; 2]) -> (Vec<f32>, Vec<u8>) {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = zeroed(planes * oh * ow);
    let mut picked = vec![0u8; planes * oh * ow];
    if out.is_empty() {
        return (out, picked);
    }
    let per_task = planes_per_task(h * w);
    out.par_chunks_mut(oh * ow * per_task)
        .zip(picked.par_chunks_mut(oh * ow * per_task))
        .zip(input.par_chunks(h * w * per_task))
        .for_each(|((out, picked), input)| {
            for ((o, p), x) in out.chunks_mut(oh * ow).zip(picked.chunks_mut(oh * ow)).zip(input.chunks(h * w)) {
                pool_plane(x, o, p, w);
            }
        });
    (out, picked)
}

fn pool_plane(x: &[f32], out: &mut [f32], picked: &mut [u8], w: usize) {
    let ow = w / 2;
    for (r, (out_row, picked_row)) in out.chunks_mut(ow).zip(picked.chunks_mut(ow)).enumerate() {
        let (top, bottom) = (&x[2 * r * w..][..w], &x[(2 * r + 1) * w..][..w]);
        for c in 0..ow {
            let window = [top[2 * c], top[2 * c + 1], bottom[2 * c], bottom[2 * c + 1]];
            let (mut best, mut at) = (window[0], 0u8);
            for (k, &v) in window.iter().enumerate().skip(1) {
                if v > best || v.is_nan() {
                    (best, at) = (v, k as u8);
                }
            }
            out_row[c] = best;
            picked_row[c] = at;
        }
    }
}

/// Backward of [`max_pool_2x`]: each window's gradient goes to the value it picked; every
/// other input value (the rest of the window, a dropped row or column) gets 0.
pub fn max_pool_2x_backward(d_out: &[f32], picked: &[u8], planes: usize, [h, w]: [usize; 2]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut d_input = zeroed(planes * h * w);
    if oh * ow == 0 {
        return d_input;
    }
    let per_task = planes_per_task(h * w);
    d_input
        .par_chunks_mut(h * w * per_task)
        .zip(d_out.par_chunks(oh * ow * per_task))
        .zip(picked.par_chunks(oh * ow * per_task))
        .for_each(|((dx, dy), picked)| {
            for ((dx, dy), p) in dx.chunks_mut(h * w).zip(dy.chunks(oh * ow)).zip(picked.chunks(oh * ow)) {
                for (k, (&g, &at)) in dy.iter().zip(p).enumerate() {
                    let (r, c) = (k / ow, k % ow);
                    let (dr, dc) = ((at / 2) as usize, (at % 2) as usize);
                    dx[(2 * r + dr) * w + 2 * c + dc] = g;
                }
            }
        });
    d_input
}

/// One axis of the half-pixel bilinear doubling: `even[k] = 0.75 x[k] + 0.25 x[k-1]`,
/// `odd[k] = 0.75 x[k] + 0.25 x[k+1]`, the neighbour clamped at the edges; in this order, as
/// the separable composition (and PyTorch, width first) computes it.
#[inline(always)]
fn doubled(centre: f32, before: f32, after: f32) -> [f32; 2] {
    let c = centre * 0.75;
    [c + before * 0.25, c + after * 0.25]
}

/// `[planes, h, w]` -> `[planes, 2h, 2w]`, width then height.
pub fn upsample_bilinear_2x(input: &[f32], planes: usize, [h, w]: [usize; 2]) -> Vec<f32> {
    let mut out = zeroed(planes * 4 * h * w);
    if out.is_empty() {
        return out;
    }
    each_plane(input, h * w, &mut out, 4 * h * w, |x, out| {
        // Width first: each input row doubled into `wide`.
        let mut wide = vec![0.0f32; h * 2 * w];
        for (row, wide_row) in x.chunks(w).zip(wide.chunks_mut(2 * w)) {
            for k in 0..w {
                let [e, o] = doubled(row[k], row[k.saturating_sub(1)], row[(k + 1).min(w - 1)]);
                wide_row[2 * k] = e;
                wide_row[2 * k + 1] = o;
            }
        }
        // Then height: output rows 2r and 2r + 1 from wide rows r - 1, r, r + 1.
        let row = |r: usize| &wide[r * 2 * w..][..2 * w];
        for r in 0..h {
            let (centre, before, after) = (row(r), row(r.saturating_sub(1)), row((r + 1).min(h - 1)));
            let (even, odd) = out[2 * r * 2 * w..][..4 * w].split_at_mut(2 * w);
            for k in 0..2 * w {
                [even[k], odd[k]] = doubled(centre[k], before[k], after[k]);
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_picks_the_first_maximum_and_drops_odd_edges() {
        // one 3x5 plane: rows 0-1 pooled, row 2 and column 4 dropped
        let x = [1.0, 5.0, 2.0, 2.0, 9.0, 3.0, 0.0, 2.0, 1.0, 9.0, 7.0, 7.0, 7.0, 7.0, 7.0];
        let (out, picked) = max_pool_2x(&x, 1, [3, 5]);
        assert_eq!(out, [5.0, 2.0]);
        assert_eq!(picked, [1, 0]);
        let d = max_pool_2x_backward(&[10.0, 20.0], &picked, 1, [3, 5]);
        assert_eq!(d, [0.0, 10.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn pooling_propagates_nan() {
        let (out, picked) = max_pool_2x(&[1.0, f32::NAN, 3.0, 2.0], 1, [2, 2]);
        assert!(out[0].is_nan());
        assert_eq!(picked, [1]);
        let (_, last) = max_pool_2x(&[f32::NAN, 1.0, f32::NAN, 2.0], 1, [2, 2]);
        assert_eq!(last, [2]);
    }
}

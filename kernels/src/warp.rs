//! Bilinear sampling of NCHW images at per-pixel source positions, zero outside the image
//! (PyTorch's `grid_sample`, bilinear, zeros padding), and its backward.
//!
//! Under autodiff burn builds `grid_sample` from four gathers and their scatter-add
//! backward, per warp of each TrajGRU link: a quarter of PyTorch's training speed. Here the
//! four taps and weights of a pixel are found once and applied to every channel.

use rayon::prelude::*;

use crate::zeroed::zeroed;

/// The four taps of one output pixel: flat source indices and weights (0 outside).
#[derive(Clone, Copy, Default)]
struct Taps {
    index: [usize; 4],
    weight: [f32; 4],
    /// d(sample)/dx and d(sample)/dy per tap weight: the bilinear weights' derivatives.
    dweight_dx: [f32; 4],
    dweight_dy: [f32; 4],
}

fn taps(x: f32, y: f32, h: usize, w: usize) -> Taps {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let corners = [(y0, x0), (y0, x0 + 1.0), (y0 + 1.0, x0), (y0 + 1.0, x0 + 1.0)];
    let weights = [(1.0 - fy) * (1.0 - fx), (1.0 - fy) * fx, fy * (1.0 - fx), fy * fx];
    let dx = [-(1.0 - fy), 1.0 - fy, -fy, fy];
    let dy = [-(1.0 - fx), -fx, 1.0 - fx, fx];
    let mut t = Taps::default();
    for (k, &(cy, cx)) in corners.iter().enumerate() {
        if cy >= 0.0 && cx >= 0.0 && (cy as usize) < h && (cx as usize) < w {
            t.index[k] = cy as usize * w + cx as usize;
            t.weight[k] = weights[k];
            t.dweight_dx[k] = dx[k];
            t.dweight_dy[k] = dy[k];
        }
    }
    t
}

fn image_taps(sx: &[f32], sy: &[f32], h: usize, w: usize) -> Vec<Taps> {
    sx.iter().zip(sy).map(|(&x, &y)| taps(x, y, h, w)).collect()
}

/// `out[b, c, p] = sum_k weight_k(p) input[b, c, index_k(p)]` for `input` `[b, c, h, w]` and
/// source positions `sx, sy` (`[b, h, w]`, in pixels).
pub fn forward(input: &[f32], sx: &[f32], sy: &[f32], [batch, channels, h, w]: [usize; 4]) -> Vec<f32> {
    let plane = h * w;
    let mut out = zeroed(batch * channels * plane);
    out.par_chunks_exact_mut(channels * plane).enumerate().for_each(|(b, out_b)| {
        let t = image_taps(&sx[b * plane..][..plane], &sy[b * plane..][..plane], h, w);
        for (c, out_c) in out_b.chunks_exact_mut(plane).enumerate() {
            let src = &input[(b * channels + c) * plane..][..plane];
            for (o, t) in out_c.iter_mut().zip(&t) {
                *o = (0..4).map(|k| t.weight[k] * src[t.index[k]]).sum();
            }
        }
    });
    out
}

/// The gradients of [`forward`] for upstream `dy`: (input, sx, sy).
pub fn backward(input: &[f32], sx: &[f32], sy: &[f32], dy: &[f32], shape: [usize; 4]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let [batch, channels, h, w] = shape;
    let plane = h * w;
    let mut d_input = zeroed(batch * channels * plane);
    let mut d_sx = zeroed(batch * plane);
    let mut d_sy = zeroed(batch * plane);
    d_input
        .par_chunks_exact_mut(channels * plane)
        .zip(d_sx.par_chunks_exact_mut(plane).zip(d_sy.par_chunks_exact_mut(plane)))
        .enumerate()
        .for_each(|(b, (d_in_b, (dx_b, dy_b)))| {
            let t = image_taps(&sx[b * plane..][..plane], &sy[b * plane..][..plane], h, w);
            for c in 0..channels {
                let offset = (b * channels + c) * plane;
                let (src, up) = (&input[offset..][..plane], &dy[offset..][..plane]);
                let d_in = &mut d_in_b[c * plane..][..plane];
                for p in 0..plane {
                    let (t, g) = (&t[p], up[p]);
                    let (mut gx, mut gy) = (0.0f32, 0.0f32);
                    for k in 0..4 {
                        d_in[t.index[k]] += t.weight[k] * g;
                        gx += t.dweight_dx[k] * src[t.index[k]];
                        gy += t.dweight_dy[k] * src[t.index[k]];
                    }
                    dx_b[p] += g * gx;
                    dy_b[p] += g * gy;
                }
            }
        });
    (d_input, d_sx, d_sy)
}

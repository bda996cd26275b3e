//! The authors' `warp()` (TrajGRU, MotionRNN): bilinear sampling of a feature map at
//! pixel positions displaced by a flow field.

use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn::tensor::{Device, Tensor};

/// Samples `input` (`[B, C, H, W]`) at `(x + flow_x, y + flow_y)` for every output pixel,
/// where the flows are `[B, H, W]` in pixels.
///
/// Faithful to the reference: the position is normalised with `max(W - 1, 1)` (the
/// align_corners=True convention, guarded for a one-pixel axis) but sampled with
/// align_corners=False and zero padding, so the effective source is
/// `x' = (x + u) W / max(W - 1, 1) - 0.5`.
///
/// The position is rounded as PyTorch rounds it, operation for operation: the gradient of
/// bilinear sampling jumps where a position crosses a whole pixel, so a position one ulp
/// on the other side of a pixel than PyTorch's takes the other neighbour's slope, and over
/// a long MotionRNN rollout that moved gradients by 1e-3 (docs/golden-checks.md).
pub fn warp(input: Tensor<4>, flow_x: Tensor<3>, flow_y: Tensor<3>) -> Tensor<4> {
    let [_, _, h, w] = input.dims();
    let device = input.device();
    let (xs, ys) = base_grid(h, w, &device);
    let gx = normalised(flow_x, xs, w);
    let gy = normalised(flow_y, ys, h);
    if vpbench_kernels::runs_on_flex(&device) {
        // The same samples from one fused operation (vpbench-kernels), given the source
        // pixel that grid_sample's unnormalisation derives from the grid.
        return vpbench_kernels::warp_bilinear(input, unnormalised(gx, w), unnormalised(gy, h));
    }
    let grid = Tensor::stack::<4>(vec![gx, gy], 3);
    let options = GridSampleOptions {
        mode: InterpolateMode::Bilinear,
        padding_mode: GridSamplePaddingMode::Zeros,
        align_corners: false,
    };
    input.grid_sample_2d(grid, options)
}

/// The reference's grid coordinate `2 (x + u) / max(W - 1, 1) - 1`, in its order of
/// operations (`2.0 * vgrid / max(W - 1, 1) - 1.0`).
fn normalised(flow: Tensor<3>, base: Tensor<2>, size: usize) -> Tensor<3> {
    (flow + base.unsqueeze_dim::<3>(0)).mul_scalar(2.0).div_scalar(span(size)).sub_scalar(1.0)
}

/// `grid_sample`'s source pixel for align_corners=False: `(g + 1) (W / 2) - 0.5`, as
/// PyTorch's CPU kernel and burn's CubeCL kernel compute it (the two agree bit for bit: the
/// factor 2 between them is exact).
fn unnormalised(grid: Tensor<3>, size: usize) -> Tensor<3> {
    grid.add_scalar(1.0).mul_scalar(size as f64 / 2.0).sub_scalar(0.5)
}

/// The reference's normaliser of an axis of `size` pixels: `max(size - 1, 1)`.
fn span(size: usize) -> f64 {
    size.saturating_sub(1).max(1) as f64
}

/// Column and row index of every pixel, `[H, W]` each.
fn base_grid(h: usize, w: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let xs: Vec<f32> = (0..h * w).map(|i| (i % w) as f32).collect();
    let ys: Vec<f32> = (0..h * w).map(|i| (i / w) as f32).collect();
    (
        Tensor::<1>::from_floats(xs.as_slice(), device).reshape([h, w]),
        Tensor::<1>::from_floats(ys.as_slice(), device).reshape([h, w]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// PyTorch's source pixel in float32, operation for operation: `2 t / (W - 1) - 1`, then
    /// `(g + 1) (W / 2) - 0.5`.
    fn pytorch_position(t: f32, w: usize) -> f32 {
        let g = 2.0 * t / (w as f32 - 1.0) - 1.0;
        (g + 1.0) * (w as f32 / 2.0) - 0.5
    }

    /// The rounding this port once used: `t * (W / (W - 1)) - 0.5`.
    fn direct_position(t: f32, w: usize) -> f32 {
        t * (w as f64 / (w as f64 - 1.0)) as f32 - 0.5
    }

    /// Positions a few ulps around whole pixels, where the slope of bilinear sampling jumps:
    /// the gradient with respect to the flow takes the side PyTorch's rounding takes (on a
    /// row of squares, whose slope differs on the two sides of every pixel), on cases where
    /// the direct rounding would take the other side.
    #[test]
    fn the_flow_gradient_takes_pytorchs_side_of_a_whole_pixel() {
        let w = 16;
        let mut flows = Vec::new();
        for k in 1..w - 2 {
            let centre = (k as f32 + 0.5) * (w as f32 - 1.0) / w as f32;
            for step in -4i32..=4 {
                flows.push(f32::from_bits((centre.to_bits() as i32 + step) as u32));
            }
        }
        let differing = flows.iter().filter(|&&t| pytorch_position(t, w).floor() != direct_position(t, w).floor()).count();
        assert!(differing > 0, "no case where the two roundings take different sides: the test would not discriminate");
        let device = Device::flex().autodiff();
        let n = flows.len();
        // one row per case, sampled at pixel 0 of its row (x = 0, so t = u)
        let values: Vec<f32> = (0..n * w).map(|i| ((i % w) * (i % w)) as f32).collect();
        let input = Tensor::<4>::from_data(TensorData::new(values.clone(), [n, 1, 1, w]), &device);
        let mut u = vec![0.0f32; n * w];
        for (case, &t) in flows.iter().enumerate() {
            u[case * w] = t;
        }
        let flow_x = Tensor::<3>::from_data(TensorData::new(u, [n, 1, w]), &device).require_grad();
        let flow_y = Tensor::<3>::zeros([n, 1, w], &device);
        let out = warp(input, flow_x.clone(), flow_y);
        let grads = out.sum().backward();
        let got = flow_x.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
        for (case, &t) in flows.iter().enumerate() {
            let p = pytorch_position(t, w);
            let f = p.floor() as usize;
            // H = 1: the row sits at y = -0.5, half of it from the zero padding
            let slope = 0.5 * (values[f + 1] - values[f]) * w as f32 / (w as f32 - 1.0);
            let g = got[case * w];
            assert!((g - slope).abs() <= 1e-4 * slope.abs(), "flow {t:e}: position {p:e}, gradient {g}, PyTorch's side gives {slope}");
        }
    }
}

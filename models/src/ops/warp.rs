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
pub fn warp(input: Tensor<4>, flow_x: Tensor<3>, flow_y: Tensor<3>) -> Tensor<4> {
    let [_, _, h, w] = input.dims();
    let device = input.device();
    let (xs, ys) = base_grid(h, w, &device);
    if vpbench_kernels::runs_on_flex(&device) {
        // The same samples from one fused operation (vpbench-kernels), given the source
        // pixel x' = (x + u) W / (W - 1) - 0.5 that grid_sample derives below.
        let source = |flow: Tensor<3>, base: Tensor<2>, size: usize| {
            (flow + base.unsqueeze_dim::<3>(0))
                .mul_scalar(size as f64 / span(size))
                .sub_scalar(0.5)
        };
        return vpbench_kernels::warp_bilinear(input, source(flow_x, xs, w), source(flow_y, ys, h));
    }
    let gx = (flow_x + xs.unsqueeze_dim::<3>(0))
        .mul_scalar(2.0 / span(w))
        .sub_scalar(1.0);
    let gy = (flow_y + ys.unsqueeze_dim::<3>(0))
        .mul_scalar(2.0 / span(h))
        .sub_scalar(1.0);
    let grid = Tensor::stack::<4>(vec![gx, gy], 3);
    let options = GridSampleOptions {
        mode: InterpolateMode::Bilinear,
        padding_mode: GridSamplePaddingMode::Zeros,
        align_corners: false,
    };
    input.grid_sample_2d(grid, options)
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

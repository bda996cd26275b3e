//! Small building blocks shared by cells and architectures.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
/// burn's `Conv2d`, field for field, with the fast CPU convolution on flex (vpbench-kernels),
/// and `conv_sum(a, x, b, y) = a(x) + b(y)` as one joined convolution on flex.
pub use vpbench_kernels::{Conv2d, conv_sum};
/// Sigmoid and tanh, vectorised on flex (burn's own elsewhere).
pub use vpbench_kernels::{attention, sigmoid, tanh};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};
use burn_dispatch::DispatchDevice;

/// PyTorch's `nn.Conv2d(cin, cout, k, stride 1, padding (k-1)/2)` with bias.
///
/// burn's default initialiser (Kaiming uniform, gain 1/sqrt(3)) equals PyTorch's
/// U(+-1/sqrt(fan_in)) for weight and bias, so fresh models train like the authors'.
pub fn same_conv(cin: usize, cout: usize, kernel: usize, device: &Device) -> Conv2d {
    let pad = (kernel - 1) / 2;
    Conv2dConfig::new([cin, cout], [kernel, kernel])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .init(device)
        .into()
}

/// `nn.MaxPool2d(2, 2)` (one pass on flex).
pub fn max_pool_2x(x: Tensor<4>) -> Tensor<4> {
    vpbench_kernels::max_pool_2x(x)
}

/// `nn.Upsample(scale_factor=2, mode='bilinear')`: PyTorch's default align_corners=False
/// (half-pixel centres), which is not burn's default.
///
/// On flex outside autodiff (evaluation) one pass. burn's CubeCL backends (wgpu, Vulkan,
/// CUDA) have no bilinear-interpolation backward, so there, and under autodiff on flex (for
/// the gradient's rounding, see `vpbench_kernels::upsample_bilinear_2x`), the upsampling is
/// its fixed separable filter:
/// every output pixel is `0.75 x[i] + 0.25 x[i -+ 1]` along each axis, the neighbour clamped
/// at the edges, from slices, scalings and additions in PyTorch's order (width, then height)
/// so that the values are PyTorch's (see `vpbench_kernels::upsample_bilinear_2x`). On burn's
/// capture device, which executes nothing and is only used to count operations, it is
/// recorded as the one bilinear interpolation that thop counts (11 MACs per output element).
pub fn upsample_2x(x: Tensor<4>) -> Tensor<4> {
    if is_capture(&x.device()) {
        let [_, _, h, w] = x.dims();
        return interpolate(
            x,
            InterpolateOptions::new(InterpolateMode::Bilinear)
                .with_align_corners(false)
                .with_output_size([2 * h, 2 * w]),
        );
    }
    vpbench_kernels::upsample_bilinear_2x(x)
}

/// Whether `device` is burn's non-executing capture device (the MAC counter's).
pub fn is_capture(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Capture(_))
}

/// A 1x1 convolution held under a field name of the authors' wrapper
/// (`embed.conv_embed`, `fc.conv_fc`).
#[derive(Module, Debug)]
pub struct Embed {
    pub conv_embed: Conv2d,
}

#[derive(Module, Debug)]
pub struct Head {
    pub conv_fc: Conv2d,
}

impl Embed {
    pub fn new(image_channels: usize, hidden: usize, device: &Device) -> Self {
        Self {
            conv_embed: same_conv(image_channels, hidden, 1, device),
        }
    }
    pub fn forward(&self, frame: Tensor<4>) -> Tensor<4> {
        self.conv_embed.forward(frame)
    }
}

impl Head {
    pub fn new(hidden: usize, image_channels: usize, device: &Device) -> Self {
        Self {
            conv_fc: same_conv(hidden, image_channels, 1, device),
        }
    }
    pub fn forward(&self, features: Tensor<4>) -> Tensor<4> {
        self.conv_fc.forward(features)
    }
}

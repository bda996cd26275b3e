//! Small building blocks shared by cells and architectures.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::module::{interpolate, max_pool2d};
use burn::tensor::ops::{InterpolateMode, InterpolateOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor};

/// PyTorch's `nn.Conv2d(cin, cout, k, stride 1, padding (k-1)/2)` with bias.
///
/// burn's default initialiser (Kaiming uniform, gain 1/sqrt(3)) equals PyTorch's
/// U(+-1/sqrt(fan_in)) for weight and bias, so fresh models train like the authors'.
pub fn same_conv(cin: usize, cout: usize, kernel: usize, device: &Device) -> Conv2d {
    let pad = (kernel - 1) / 2;
    Conv2dConfig::new([cin, cout], [kernel, kernel])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .init(device)
}

/// `nn.MaxPool2d(2, 2)`.
pub fn max_pool_2x(x: Tensor<4>) -> Tensor<4> {
    max_pool2d(x, MaxPoolOptions::new([2, 2]))
}

/// `nn.Upsample(scale_factor=2, mode='bilinear')`: PyTorch's default align_corners=False
/// (half-pixel centres), which is not burn's default.
pub fn upsample_2x(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(false)
            .with_output_size([2 * h, 2 * w]),
    )
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

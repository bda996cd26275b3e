//! `Conv2d`: burn's module, field for field (so records and the authors' weight names are
//! unchanged), whose forward takes the fast CPU convolution on flex.

use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::tensor::Tensor;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

use crate::{conv2d_flex, runs_on_flex};

/// A 2-D convolution; build it from burn's `Conv2dConfig::init(..)` with `.into()`.
#[derive(Module, Debug)]
pub struct Conv2d {
    /// `[channels_out, channels_in / groups, kernel_h, kernel_w]`
    pub weight: Param<Tensor<4>>,
    /// `[channels_out]`
    pub bias: Option<Param<Tensor<1>>>,
    pub stride: [usize; 2],
    pub kernel_size: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
    #[module(skip)]
    pub padding: PaddingConfig2d,
}

impl From<burn::nn::conv::Conv2d> for Conv2d {
    fn from(c: burn::nn::conv::Conv2d) -> Self {
        Self {
            weight: c.weight,
            bias: c.bias,
            stride: c.stride,
            kernel_size: c.kernel_size,
            dilation: c.dilation,
            groups: c.groups,
            padding: c.padding,
        }
    }
}

impl Conv2d {
    /// `[batch, cin, h, w] -> [batch, cout, h', w']`, the same values as burn's `Conv2d`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let [_, _, height, width] = input.dims();
        let ((top, bottom), (left, right)) = self.padding_pairs(height, width);
        let bias = self.bias.as_ref().map(|b| b.val());
        if self.has_cpu_kernel(top == bottom && left == right) && runs_on_flex(&input.device()) {
            return conv2d_flex(vec![input], self.weight.val(), bias, [top, left]);
        }
        let options = ConvOptions::new_with_padding(self.stride, [(top, bottom), (left, right)], self.dilation, self.groups);
        conv2d(input, self.weight.val(), bias, options)
    }

    /// `self.forward(Tensor::cat(inputs, 1))`. On flex, for a biased convolution of two or
    /// three inputs, the inputs are read in place instead of copied into one tensor (and,
    /// backward, the gradient is not split back into pieces).
    pub fn forward_cat(&self, inputs: Vec<Tensor<4>>) -> Tensor<4> {
        let [_, _, height, width] = inputs[0].dims();
        let same_size = inputs.iter().all(|t| t.dims()[0] == inputs[0].dims()[0] && t.dims()[2..] == [height, width]);
        let fits = (2..=3).contains(&inputs.len()) && same_size && self.bias.is_some();
        match self.cpu_padding(height, width) {
            Some(padding) if fits && runs_on_flex(&inputs[0].device()) => {
                let bias = self.bias.as_ref().map(|b| b.val());
                conv2d_flex(inputs, self.weight.val(), bias, padding)
            }
            _ => self.forward(Tensor::cat(inputs, 1)),
        }
    }

    /// The symmetric `[pad_h, pad_w]` of this convolution on a `height x width` input, where the
    /// CPU kernel implements it.
    fn cpu_padding(&self, height: usize, width: usize) -> Option<[usize; 2]> {
        let ((top, bottom), (left, right)) = self.padding_pairs(height, width);
        self.has_cpu_kernel(top == bottom && left == right).then_some([top, left])
    }

    /// `((top, bottom), (left, right))` as burn-nn computes it (its helper is private).
    fn padding_pairs(&self, height: usize, width: usize) -> ((usize, usize), (usize, usize)) {
        match self.padding {
            PaddingConfig2d::Valid => ((0, 0), (0, 0)),
            PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
            PaddingConfig2d::Same => (
                same_padding(self.kernel_size[0], self.stride[0], height),
                same_padding(self.kernel_size[1], self.stride[1], width),
            ),
        }
    }

    /// The cases the CPU kernel implements: stride 1, dilation 1, one group, symmetric padding.
    fn has_cpu_kernel(&self, symmetric: bool) -> bool {
        symmetric && self.stride == [1, 1] && self.dilation == [1, 1] && self.groups == 1
    }
}

/// TensorFlow-style "same" padding, split with the extra pixel at the end (burn-nn's rule).
fn same_padding(kernel: usize, stride: usize, size: usize) -> (usize, usize) {
    let size_out = size.div_ceil(stride);
    let total = if size_out > 0 { ((size_out - 1) * stride + kernel).saturating_sub(size) } else { 0 };
    (total / 2, total - total / 2)
}

/// `first.forward(x) + second.forward(y)`, the two gate convolutions of a recurrent cell.
///
/// On flex, when both are biased stride-1 convolutions of one kernel size and padding over
/// inputs of one batch and image size, it is one convolution of the channel-joined inputs
/// (read in place) with the joined weights and the summed biases: one matrix product with
/// twice the depth instead of two products and an addition, and one backward. The values
/// equal the sum up to float rounding; elsewhere it is the sum.
pub fn conv_sum(first: &Conv2d, x: Tensor<4>, second: &Conv2d, y: Tensor<4>) -> Tensor<4> {
    match pair_padding(first, &x, second, &y) {
        Some(padding) => {
            let (b1, b2) = (first.bias.as_ref().expect("paired").val(), second.bias.as_ref().expect("paired").val());
            let weight = Tensor::cat(vec![first.weight.val(), second.weight.val()], 1);
            conv2d_flex(vec![x, y], weight, Some(b1 + b2), padding)
        }
        None => first.forward(x) + second.forward(y),
    }
}

/// The shared padding of two convolutions that [`conv_sum`] can join, else `None`.
fn pair_padding(first: &Conv2d, x: &Tensor<4>, second: &Conv2d, y: &Tensor<4>) -> Option<[usize; 2]> {
    let ([bx, _, h, w], [by, _, hy, wy]) = (x.dims(), y.dims());
    let ([cout1, ..], [cout2, ..]) = (first.weight.dims(), second.weight.dims());
    let pairs = bx == by
        && [h, w] == [hy, wy]
        && cout1 == cout2
        && first.kernel_size == second.kernel_size
        && first.bias.is_some()
        && second.bias.is_some()
        && runs_on_flex(&x.device());
    let padding = first.cpu_padding(h, w)?;
    (pairs && second.cpu_padding(h, w) == Some(padding)).then_some(padding)
}

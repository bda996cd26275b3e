//! [`crate::resample`] as burn backend extensions: the pooling on flex with its own backward,
//! the upsampling on flex outside autodiff (evaluation); elsewhere burn's pooling and the
//! separable upsampling composition that every burn backend differentiates.
//!
//! Under autodiff the upsampling stays the composition: its input's gradient is the sum of
//! five slices' terms, which burn adds one by one to what the input's other consumers gave
//! (the hidden state feeds the next level, the skip and the next step), and no single fused
//! gradient rounds that sum the same way. ci-regress's trained metrics amplify the last bit:
//! a fused backward (tested, not kept) moved MS-LSTM's MSE by 4% and failed the check.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::backend::DispatchDevice;
use burn::tensor::{Device, Tensor};
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;

use crate::flex::{dims4, f32_values, flex_tensor, runs_on_flex};
use crate::resample;

#[backend_extension(Flex, Autodiff)]
pub trait CpuPoolBackend: Backend {
    fn max_pool_2x_fused(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Flex without autodiff only (see the module's documentation).
#[backend_extension(Flex)]
pub trait CpuUpsampleBackend: Backend {
    fn upsample_bilinear_2x_fused(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `nn.MaxPool2d(2, 2)` of `[B, C, H, W]`: one pass on flex, burn's pooling elsewhere.
pub fn max_pool_2x(x: Tensor<4>) -> Tensor<4> {
    if !runs_on_flex(&x.device()) {
        return max_pool2d(x, MaxPoolOptions::new([2, 2]));
    }
    Tensor::from_dispatch(<Dispatch as CpuPoolBackend>::max_pool_2x_fused(x.into_dispatch()))
}

/// `nn.Upsample(scale_factor=2, mode='bilinear')`, PyTorch's align_corners=False (half-pixel
/// centres), of `[B, C, H, W]`: one pass on flex outside autodiff, with the composition's
/// values to the bit; elsewhere its separable filter from slices, scalings and sums (burn's
/// GPU backends have no bilinear backward).
pub fn upsample_bilinear_2x(x: Tensor<4>) -> Tensor<4> {
    if !is_plain_flex(&x.device()) {
        return upsample_axis_2x(upsample_axis_2x(x, 3), 2);
    }
    Tensor::from_dispatch(<Dispatch as CpuUpsampleBackend>::upsample_bilinear_2x_fused(x.into_dispatch()))
}

/// Flex itself, not wrapped in autodiff.
fn is_plain_flex(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Flex(_))
}

/// Doubles one axis of `x` with the half-pixel bilinear filter (weights 0.75 / 0.25, edge
/// clamped), interleaving the even (left-leaning) and odd (right-leaning) outputs.
fn upsample_axis_2x(x: Tensor<4>, axis: usize) -> Tensor<4> {
    let mut dims = x.dims();
    let n = dims[axis];
    let (previous, next) = if n == 1 {
        (x.clone(), x.clone())
    } else {
        let first = x.clone().narrow(axis, 0, 1);
        let last = x.clone().narrow(axis, n - 1, 1);
        (
            Tensor::cat(vec![first, x.clone().narrow(axis, 0, n - 1)], axis),
            Tensor::cat(vec![x.clone().narrow(axis, 1, n - 1), last], axis),
        )
    };
    let centre = x.mul_scalar(0.75);
    let even = centre.clone() + previous.mul_scalar(0.25);
    let odd = centre + next.mul_scalar(0.25);
    dims[axis] *= 2;
    Tensor::stack::<5>(vec![even, odd], axis + 1).reshape(dims)
}

/// The pooled maxima and, for the backward, which value of each window they came from.
fn pool_forward(x: &FlexTensor) -> (FlexTensor, MaxPoolBackward) {
    let [b, c, h, w] = dims4(x);
    let (out, picked) = resample::max_pool_2x(&f32_values(x), b * c, [h, w]);
    (flex_tensor(out, [b, c, h / 2, w / 2]), MaxPoolBackward { picked, input: [b, c, h, w] })
}

#[derive(Debug, Clone)]
struct MaxPoolBackward {
    picked: Vec<u8>,
    input: [usize; 4],
}

impl Backward<Flex, 1> for MaxPoolBackward {
    type State = ();

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        if let [Some(parent)] = ops.parents {
            let [b, c, h, w] = self.input;
            let dx = resample::max_pool_2x_backward(&f32_values(&dy), &self.picked, b * c, [h, w]);
            grads.register::<Flex>(parent.id, flex_tensor(dx, self.input));
        }
    }
}

fn upsample_forward(x: &FlexTensor) -> FlexTensor {
    let [b, c, h, w] = dims4(x);
    flex_tensor(resample::upsample_bilinear_2x(&f32_values(x), b * c, [h, w]), [b, c, 2 * h, 2 * w])
}

impl CpuPoolBackend for Flex {
    fn max_pool_2x_fused(x: FlexTensor) -> FlexTensor {
        pool_forward(&x).0
    }
}

impl CpuUpsampleBackend for Flex {
    fn upsample_bilinear_2x_fused(x: FlexTensor) -> FlexTensor {
        upsample_forward(&x)
    }
}

impl<C: CheckpointStrategy> CpuPoolBackend for Autodiff<Flex, C> {
    fn max_pool_2x_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let node = x.node();
        let (out, backward) = pool_forward(&x.into_primitive());
        match backward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

//! [`crate::activation`] as a burn backend extension: flex evaluates it, autodiff over flex
//! keeps the output and differentiates through it.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use crate::activation::{chunked, sigmoid_backward_into, sigmoid_into, tanh_backward_into, tanh_into};
use crate::flex::{f32_values, flex_tensor, runs_on_flex};
use crate::zeroed::zeroed;

#[backend_extension(Flex, Autodiff)]
pub trait CpuActivationBackend: Backend {
    fn sigmoid_vectorised(x: FloatTensor<Self>) -> FloatTensor<Self>;
    fn tanh_vectorised(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `1 / (1 + e^-x)`: vectorised on flex, burn's own elsewhere.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !runs_on_flex(&x.device()) {
        return burn::tensor::activation::sigmoid(x);
    }
    Tensor::from_dispatch(<Dispatch as CpuActivationBackend>::sigmoid_vectorised(x.into_dispatch()))
}

/// `tanh x`: vectorised on flex, burn's own elsewhere.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !runs_on_flex(&x.device()) {
        return x.tanh();
    }
    Tensor::from_dispatch(<Dispatch as CpuActivationBackend>::tanh_vectorised(x.into_dispatch()))
}

/// The elementwise function and the backward it needs from its own output.
#[derive(Clone, Copy, Debug)]
enum Squash {
    Sigmoid,
    Tanh,
}

impl Squash {
    fn forward(self, x: &FlexTensor) -> FlexTensor {
        let values = f32_values(x);
        let mut out = zeroed(values.len());
        let f = match self {
            Squash::Sigmoid => sigmoid_into,
            Squash::Tanh => tanh_into,
        };
        chunked([&mut out], &[&values], |[o], i| f(o, i[0]));
        flex_tensor(out, x.layout().shape().clone())
    }

    fn backward(self, y: &FlexTensor, dy: &FlexTensor) -> FlexTensor {
        let (y_values, dy_values) = (f32_values(y), f32_values(dy));
        let mut out = zeroed(y_values.len());
        let f = match self {
            Squash::Sigmoid => sigmoid_backward_into,
            Squash::Tanh => tanh_backward_into,
        };
        chunked([&mut out], &[&y_values, &dy_values], |[o], i| f(o, i[0], i[1]));
        flex_tensor(out, y.layout().shape().clone())
    }

    fn autodiff<C: CheckpointStrategy>(self, x: FloatTensor<Autodiff<Flex, C>>) -> FloatTensor<Autodiff<Flex, C>> {
        let prepared = self.prepare::<C>([x.node()]).compute_bound().stateful();
        let y = self.forward(&x.into_primitive());
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

impl Backward<Flex, 1> for Squash {
    /// The forward's output (shares its buffer: no copy).
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        if let [Some(parent)] = ops.parents {
            grads.register::<Flex>(parent.id, self.backward(&ops.state, &dy));
        }
    }
}

impl CpuActivationBackend for Flex {
    fn sigmoid_vectorised(x: FlexTensor) -> FlexTensor {
        Squash::Sigmoid.forward(&x)
    }

    fn tanh_vectorised(x: FlexTensor) -> FlexTensor {
        Squash::Tanh.forward(&x)
    }
}

impl<C: CheckpointStrategy> CpuActivationBackend for Autodiff<Flex, C> {
    fn sigmoid_vectorised(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Squash::Sigmoid.autodiff::<C>(x)
    }

    fn tanh_vectorised(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Squash::Tanh.autodiff::<C>(x)
    }
}

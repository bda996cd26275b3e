//! [`crate::warp`] as a burn backend extension with its own backward.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use crate::flex::{dims4, f32_values, flex_tensor, register_gradients};
use crate::warp;

#[backend_extension(Flex, Autodiff)]
pub trait CpuWarpBackend: Backend {
    fn warp_bilinear_fused(input: FloatTensor<Self>, sx: FloatTensor<Self>, sy: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Samples `input` (`[B, C, H, W]`) bilinearly at source pixel positions `sx, sy`
/// (`[B, H, W]`), zero outside: `grid_sample` with align_corners=False and zeros padding,
/// given pixel coordinates. On a flex device (check [`crate::runs_on_flex`]).
pub fn warp_bilinear(input: Tensor<4>, sx: Tensor<3>, sy: Tensor<3>) -> Tensor<4> {
    let [b, _, h, w] = input.dims();
    assert!(sx.dims() == [b, h, w] && sy.dims() == [b, h, w], "warp: source positions {:?} {:?} for input {:?}", sx.dims(), sy.dims(), input.dims());
    Tensor::from_dispatch(<Dispatch as CpuWarpBackend>::warp_bilinear_fused(
        input.into_dispatch(),
        sx.into_dispatch(),
        sy.into_dispatch(),
    ))
}

fn forward(input: &FlexTensor, sx: &FlexTensor, sy: &FlexTensor) -> FlexTensor {
    let shape = dims4(input);
    let out = warp::forward(&f32_values(input), &f32_values(sx), &f32_values(sy), shape);
    flex_tensor(out, shape)
}

#[derive(Debug)]
struct WarpBackward;

impl Backward<Flex, 3> for WarpBackward {
    type State = [FlexTensor; 3];

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let [input, sx, sy] = &ops.state;
        let shape = dims4(input);
        let (d_input, d_sx, d_sy) = warp::backward(&f32_values(input), &f32_values(sx), &f32_values(sy), &f32_values(&dy), shape);
        let shapes = [input, sx, sy].map(|t| t.layout().shape().clone());
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grads, parents, [d_input, d_sx, d_sy].map(Some), shapes);
    }
}

impl CpuWarpBackend for Flex {
    fn warp_bilinear_fused(input: FlexTensor, sx: FlexTensor, sy: FlexTensor) -> FlexTensor {
        forward(&input, &sx, &sy)
    }
}

impl<C: CheckpointStrategy> CpuWarpBackend for Autodiff<Flex, C> {
    fn warp_bilinear_fused(input: FloatTensor<Self>, sx: FloatTensor<Self>, sy: FloatTensor<Self>) -> FloatTensor<Self> {
        let prepared = WarpBackward.prepare::<C>([input.node(), sx.node(), sy.node()]).compute_bound().stateful();
        let inputs = [input, sx, sy].map(|t| t.into_primitive());
        let out = forward(&inputs[0], &inputs[1], &inputs[2]);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(inputs, out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

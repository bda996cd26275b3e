//! The convolution as a burn backend extension: flex runs [`crate::conv`], and autodiff over
//! flex records a backward that runs it too.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension};
use burn::tensor::{Shape, Tensor};

use crate::conv::{self, ConvGeometry, Wanted};
use crate::flex::{dims4, f32_values, flex_tensor, register_gradients};

#[backend_extension(Flex, Autodiff)]
pub trait CpuConvBackend: Backend {
    /// Stride-1 convolution with symmetric zero padding `[pad_h, pad_w]` and a bias.
    fn conv2d_stride1_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self>;

    /// The same without a bias.
    fn conv2d_stride1(x: FloatTensor<Self>, weight: FloatTensor<Self>, pad_h: usize, pad_w: usize) -> FloatTensor<Self>;
}

/// `conv2d(x, weight, bias)` with stride 1 and symmetric padding, on a flex device (check
/// [`crate::runs_on_flex`] first; other devices panic).
pub fn conv2d_flex(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, padding: [usize; 2]) -> Tensor<4> {
    let [pad_h, pad_w] = padding;
    let out = match bias {
        Some(bias) => <burn::backend::Dispatch as CpuConvBackend>::conv2d_stride1_bias(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            pad_h,
            pad_w,
        ),
        None => <burn::backend::Dispatch as CpuConvBackend>::conv2d_stride1(
            x.into_dispatch(),
            weight.into_dispatch(),
            pad_h,
            pad_w,
        ),
    };
    Tensor::from_dispatch(out)
}

fn geometry(x: &FlexTensor, weight: &FlexTensor, padding: [usize; 2]) -> ConvGeometry {
    ConvGeometry::new(dims4(x), dims4(weight), padding)
        .unwrap_or_else(|| panic!("conv2d: weight {:?} does not fit input {:?} with padding {padding:?}", dims4(weight), dims4(x)))
}

fn flex_forward(x: &FlexTensor, weight: &FlexTensor, bias: Option<&FlexTensor>, padding: [usize; 2]) -> FlexTensor {
    let g = geometry(x, weight, padding);
    let bias = bias.map(f32_values);
    let y = conv::forward(&g, &f32_values(x), &f32_values(weight), bias.as_deref());
    flex_tensor(y, g.output_shape())
}

impl CpuConvBackend for Flex {
    fn conv2d_stride1_bias(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, pad_h: usize, pad_w: usize) -> FlexTensor {
        flex_forward(&x, &weight, Some(&bias), [pad_h, pad_w])
    }

    fn conv2d_stride1(x: FlexTensor, weight: FlexTensor, pad_h: usize, pad_w: usize) -> FlexTensor {
        flex_forward(&x, &weight, None, [pad_h, pad_w])
    }
}

/// The backward step: inputs and weights are kept (flex tensors share their buffers, so
/// this copies nothing) and the gradients come from [`conv::backward`].
#[derive(Debug)]
struct ConvBackward {
    padding: [usize; 2],
}

impl ConvBackward {
    fn gradients<const N: usize>(
        &self,
        (x, weight): &(FlexTensor, FlexTensor),
        ops: &Ops<(FlexTensor, FlexTensor), N>,
        grads: &mut Gradients,
    ) -> conv::ConvGradients {
        let g = geometry(x, weight, self.padding);
        let dy = grads.consume::<Flex>(&ops.node);
        let wanted = Wanted {
            x: ops.parents[0].is_some(),
            weight: ops.parents[1].is_some(),
            bias: N == 3 && ops.parents[N - 1].is_some(),
        };
        conv::backward(&g, &f32_values(x), &f32_values(weight), &f32_values(&dy), wanted)
    }

    fn register<const N: usize>(shapes: [Shape; N], ops: Ops<(FlexTensor, FlexTensor), N>, grads: &mut Gradients, result: conv::ConvGradients) {
        // x, weight and (with N = 3) bias, in the parents' order.
        let mut values = [result.x, result.weight, result.bias].into_iter();
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grads, parents, std::array::from_fn(|_| values.next().flatten()), shapes);
    }
}

impl Backward<Flex, 3> for ConvBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let result = self.gradients(&ops.state, &ops, grads);
        let (x, w) = &ops.state;
        let shapes = [x.layout().shape().clone(), w.layout().shape().clone(), Shape::new([dims4(w)[0]])];
        Self::register(shapes, ops, grads, result);
    }
}

/// The bias-free form: two parents.
#[derive(Debug)]
struct ConvNoBiasBackward(ConvBackward);

impl Backward<Flex, 2> for ConvNoBiasBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let result = self.0.gradients(&ops.state, &ops, grads);
        let (x, w) = &ops.state;
        let shapes = [x.layout().shape().clone(), w.layout().shape().clone()];
        ConvBackward::register(shapes, ops, grads, result);
    }
}

impl<C: CheckpointStrategy> CpuConvBackend for Autodiff<Flex, C> {
    fn conv2d_stride1_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        let padding = [pad_h, pad_w];
        let prepared = ConvBackward { padding }
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful();
        let (xp, wp, bp) = (x.into_primitive(), weight.into_primitive(), bias.into_primitive());
        let y = flex_forward(&xp, &wp, Some(&bp), padding);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((xp, wp), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn conv2d_stride1(x: FloatTensor<Self>, weight: FloatTensor<Self>, pad_h: usize, pad_w: usize) -> FloatTensor<Self> {
        let padding = [pad_h, pad_w];
        let prepared = ConvNoBiasBackward(ConvBackward { padding })
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful();
        let (xp, wp) = (x.into_primitive(), weight.into_primitive());
        let y = flex_forward(&xp, &wp, None, padding);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((xp, wp), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

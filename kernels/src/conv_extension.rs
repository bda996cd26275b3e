//! The convolution as a burn backend extension: flex runs [`crate::conv`], and autodiff over
//! flex records a backward that runs it too.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension};
use burn::tensor::{Shape, Tensor};

use crate::conv::{self, ConvGeometry, Wanted, concat_channels, split_channels};
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

    /// `conv(x1, w1) + b1 + conv(x2, w2) + b2` for two biased convolutions of one kernel
    /// size and padding over inputs of one batch and image size, as one convolution of the
    /// channel-joined inputs with the input-channel-joined weights.
    #[allow(clippy::too_many_arguments)]
    fn conv2d_pair_stride1(
        x1: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        b1: FloatTensor<Self>,
        x2: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        b2: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self>;
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

/// `conv(x1, w1) + b1 + conv(x2, w2) + b2` on a flex device (see
/// [`CpuConvBackend::conv2d_pair_stride1`]; check [`crate::runs_on_flex`] first).
pub fn conv2d_pair_flex(first: [Tensor<4>; 2], first_bias: Tensor<1>, second: [Tensor<4>; 2], second_bias: Tensor<1>, padding: [usize; 2]) -> Tensor<4> {
    let [x1, w1] = first.map(|t| t.into_dispatch());
    let [x2, w2] = second.map(|t| t.into_dispatch());
    Tensor::from_dispatch(<burn::backend::Dispatch as CpuConvBackend>::conv2d_pair_stride1(
        x1,
        w1,
        first_bias.into_dispatch(),
        x2,
        w2,
        second_bias.into_dispatch(),
        padding[0],
        padding[1],
    ))
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

/// The joined operands of a convolution pair: inputs along channels, weights along input
/// channels.
struct JoinedPair {
    x: FlexTensor,
    weight: FlexTensor,
    /// Input channels of the first and second convolution.
    channels: [usize; 2],
}

fn join_pair(x: [&FlexTensor; 2], weight: [&FlexTensor; 2]) -> JoinedPair {
    let ([b, c1, h, w], [_, c2, h2, w2]) = (dims4(x[0]), dims4(x[1]));
    let ([cout, _, kh, kw], [cout2, _, kh2, kw2]) = (dims4(weight[0]), dims4(weight[1]));
    assert!(
        dims4(x[1])[0] == b && [h2, w2] == [h, w] && [cout2, kh2, kw2] == [cout, kh, kw],
        "conv2d pair: inputs {:?} {:?} and weights {:?} {:?} do not pair",
        dims4(x[0]),
        dims4(x[1]),
        dims4(weight[0]),
        dims4(weight[1])
    );
    let joined_x = concat_channels((&f32_values(x[0]), c1), (&f32_values(x[1]), c2), b, h * w);
    let joined_w = concat_channels((&f32_values(weight[0]), c1), (&f32_values(weight[1]), c2), cout, kh * kw);
    JoinedPair {
        x: flex_tensor(joined_x, [b, c1 + c2, h, w]),
        weight: flex_tensor(joined_w, [cout, c1 + c2, kh, kw]),
        channels: [c1, c2],
    }
}

/// The pair's output: the joined convolution with the two biases summed.
fn pair_forward(x: [&FlexTensor; 2], weight: [&FlexTensor; 2], bias: [&FlexTensor; 2], padding: [usize; 2]) -> FlexTensor {
    let pair = join_pair(x, weight);
    let bias: Vec<f32> = f32_values(bias[0]).iter().zip(f32_values(bias[1]).iter()).map(|(p, q)| p + q).collect();
    let g = geometry(&pair.x, &pair.weight, padding);
    let y = conv::forward(&g, &f32_values(&pair.x), &f32_values(&pair.weight), Some(&bias));
    flex_tensor(y, g.output_shape())
}

impl CpuConvBackend for Flex {
    fn conv2d_pair_stride1(
        x1: FlexTensor,
        w1: FlexTensor,
        b1: FlexTensor,
        x2: FlexTensor,
        w2: FlexTensor,
        b2: FlexTensor,
        pad_h: usize,
        pad_w: usize,
    ) -> FlexTensor {
        pair_forward([&x1, &x2], [&w1, &w2], [&b1, &b2], [pad_h, pad_w])
    }

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

/// The backward of a convolution pair: one backward of the joined convolution, its input
/// and weight gradients split back into the two, the bias gradient handed to both biases.
#[derive(Debug)]
struct ConvPairBackward {
    padding: [usize; 2],
}

impl Backward<Flex, 6> for ConvPairBackward {
    /// The two inputs and weights as they came (they share their buffers with the graph's
    /// tensors; joining them again here costs a copy, keeping them joined would cost memory
    /// for as long as the graph lives).
    type State = [FlexTensor; 4];

    fn backward(self, ops: Ops<Self::State, 6>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x1, w1, x2, w2] = &ops.state;
        let pair = join_pair([x1, x2], [w1, w2]);
        let g = geometry(&pair.x, &pair.weight, self.padding);
        let dy = grads.consume::<Flex>(&ops.node);
        let wants = |a: usize, b: usize| ops.parents[a].is_some() || ops.parents[b].is_some();
        let wanted = Wanted { x: wants(0, 3), weight: wants(1, 4), bias: wants(2, 5) };
        let result = conv::backward(&g, &f32_values(&pair.x), &f32_values(&pair.weight), &f32_values(&dy), wanted);
        let [c1, c2] = pair.channels;
        let (taps, plane) = (g.kernel_h * g.kernel_w, g.height * g.width);
        let (dx1, dx2) = result.x.map(|dx| split_channels(&dx, c1, c2, g.batch, plane)).unzip();
        let (dw1, dw2) = result.weight.map(|dw| split_channels(&dw, c1, c2, g.channels_out, taps)).unzip();
        let db = result.bias;
        let bias_shape = Shape::new([g.channels_out]);
        let [x1, w1, x2, w2] = [x1, w1, x2, w2].map(|t| t.layout().shape().clone());
        let shapes = [x1, w1, bias_shape.clone(), x2, w2, bias_shape];
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grads, parents, [dx1, dw1, db.clone(), dx2, dw2, db], shapes);
    }
}

impl<C: CheckpointStrategy> CpuConvBackend for Autodiff<Flex, C> {
    fn conv2d_pair_stride1(
        x1: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        b1: FloatTensor<Self>,
        x2: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        b2: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        let padding = [pad_h, pad_w];
        let nodes = [x1.node(), w1.node(), b1.node(), x2.node(), w2.node(), b2.node()];
        let [x1, w1, b1, x2, w2, b2] = [x1, w1, b1, x2, w2, b2].map(|t| t.into_primitive());
        let prepared = ConvPairBackward { padding }.prepare::<C>(nodes).compute_bound().stateful();
        let y = pair_forward([&x1, &x2], [&w1, &w2], [&b1, &b2], padding);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish([x1, w1, x2, w2], y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

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

//! The convolution as a burn backend extension: flex runs [`crate::conv`], and autodiff over
//! flex records a backward that runs it too. Its input may be two or three tensors joined
//! along channels, read in place (see [`crate::conv_input`]).

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension};
use burn::tensor::{Shape, Tensor};

use std::borrow::Cow;

use crate::conv::{self, ConvGeometry, Wanted};
use crate::conv_input::{Input, Part};
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

    /// The biased convolution of `cat([x1, x2], 1)`, without the concatenation.
    fn conv2d_cat2_stride1(
        x1: FloatTensor<Self>,
        x2: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self>;

    /// The biased convolution of `cat([x1, x2, x3], 1)`, without the concatenation.
    #[allow(clippy::too_many_arguments)]
    fn conv2d_cat3_stride1(
        x1: FloatTensor<Self>,
        x2: FloatTensor<Self>,
        x3: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self>;
}

type Ext = burn::backend::Dispatch;

/// `conv2d(cat(inputs, 1), weight, bias)` with stride 1 and symmetric padding, on a flex
/// device (check [`crate::runs_on_flex`] first; other devices panic). One to three inputs;
/// more than one needs a bias.
pub fn conv2d_flex(inputs: Vec<Tensor<4>>, weight: Tensor<4>, bias: Option<Tensor<1>>, padding: [usize; 2]) -> Tensor<4> {
    let [pad_h, pad_w] = padding;
    let weight = weight.into_dispatch();
    let arity = inputs.len();
    let mut inputs = inputs.into_iter().map(|t| t.into_dispatch());
    let mut next = || inputs.next().expect("conv2d_flex: fewer inputs than its arity");
    let out = match (arity, bias) {
        (1, None) => <Ext as CpuConvBackend>::conv2d_stride1(next(), weight, pad_h, pad_w),
        (1, Some(bias)) => <Ext as CpuConvBackend>::conv2d_stride1_bias(next(), weight, bias.into_dispatch(), pad_h, pad_w),
        (2, Some(bias)) => <Ext as CpuConvBackend>::conv2d_cat2_stride1(next(), next(), weight, bias.into_dispatch(), pad_h, pad_w),
        (3, Some(bias)) => {
            let (x1, x2, x3) = (next(), next(), next());
            <Ext as CpuConvBackend>::conv2d_cat3_stride1(x1, x2, x3, weight, bias.into_dispatch(), pad_h, pad_w)
        }
        (n, bias) => panic!("conv2d_flex: {n} inputs with bias {} is not a form it has", bias.is_some()),
    };
    Tensor::from_dispatch(out)
}

/// The values of `tensors`, borrowed where contiguous.
fn values_of<'a>(tensors: &[&'a FlexTensor]) -> Vec<Cow<'a, [f32]>> {
    tensors.iter().map(|t| f32_values(t)).collect()
}

/// The joined input over `values` (of `tensors`) and its geometry with `weight`.
fn joined<'a>(tensors: &[&FlexTensor], values: &'a [Cow<'a, [f32]>], weight: &FlexTensor, padding: [usize; 2]) -> (Input<'a>, ConvGeometry) {
    let [batch, _, h, w] = dims4(tensors[0]);
    let parts = tensors
        .iter()
        .zip(values)
        .map(|(t, v)| {
            let [b, c, th, tw] = dims4(t);
            assert!([b, th, tw] == [batch, h, w], "conv2d: joined inputs {:?} and {:?} differ in batch or size", dims4(tensors[0]), dims4(t));
            Part { values: v, channels: c }
        })
        .collect();
    let input = Input::new(parts, batch, h * w);
    let dims = [batch, input.channels(), h, w];
    let g = ConvGeometry::new(dims, dims4(weight), padding)
        .unwrap_or_else(|| panic!("conv2d: weight {:?} does not fit input {dims:?} with padding {padding:?}", dims4(weight)));
    (input, g)
}

fn flex_forward(inputs: &[&FlexTensor], weight: &FlexTensor, bias: Option<&FlexTensor>, padding: [usize; 2]) -> FlexTensor {
    let values = values_of(inputs);
    let (input, g) = joined(inputs, &values, weight, padding);
    let bias = bias.map(f32_values);
    let y = conv::forward(&g, &input, &f32_values(weight), bias.as_deref());
    flex_tensor(y, g.output_shape())
}

impl CpuConvBackend for Flex {
    fn conv2d_stride1_bias(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, pad_h: usize, pad_w: usize) -> FlexTensor {
        flex_forward(&[&x], &weight, Some(&bias), [pad_h, pad_w])
    }

    fn conv2d_stride1(x: FlexTensor, weight: FlexTensor, pad_h: usize, pad_w: usize) -> FlexTensor {
        flex_forward(&[&x], &weight, None, [pad_h, pad_w])
    }

    fn conv2d_cat2_stride1(x1: FlexTensor, x2: FlexTensor, weight: FlexTensor, bias: FlexTensor, pad_h: usize, pad_w: usize) -> FlexTensor {
        flex_forward(&[&x1, &x2], &weight, Some(&bias), [pad_h, pad_w])
    }

    fn conv2d_cat3_stride1(
        x1: FlexTensor,
        x2: FlexTensor,
        x3: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        pad_h: usize,
        pad_w: usize,
    ) -> FlexTensor {
        flex_forward(&[&x1, &x2, &x3], &weight, Some(&bias), [pad_h, pad_w])
    }
}

/// The backward step of a convolution over `parts` joined inputs. Its parents are the
/// inputs, the weight and (when there are `parts + 2`) the bias; its state the inputs and
/// the weight (flex tensors share their buffers, so keeping them copies nothing).
#[derive(Debug)]
struct ConvBackward {
    padding: [usize; 2],
    parts: usize,
}

impl ConvBackward {
    fn run<const N: usize>(self, ops: Ops<Vec<FlexTensor>, N>, grads: &mut Gradients) {
        let parts = self.parts;
        let (inputs, weight) = (ops.state[..parts].iter().collect::<Vec<_>>(), &ops.state[parts]);
        let values = values_of(&inputs);
        let (input, g) = joined(&inputs, &values, weight, self.padding);
        let dy = grads.consume::<Flex>(&ops.node);
        let has_bias = N == parts + 2;
        let wanted = Wanted {
            x: (0..parts).map(|p| ops.parents[p].is_some()).collect(),
            weight: ops.parents[parts].is_some(),
            bias: has_bias && ops.parents[parts + 1].is_some(),
        };
        let result = conv::backward(&g, &input, &f32_values(weight), &f32_values(&dy), &wanted);
        let shapes: [Shape; N] = std::array::from_fn(|i| match i {
            i if i < parts => inputs[i].layout().shape().clone(),
            i if i == parts => weight.layout().shape().clone(),
            _ => Shape::new([g.channels_out]),
        });
        let mut values = result.x.into_iter().chain([result.weight, result.bias]);
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grads, parents, std::array::from_fn(|_| values.next().flatten()), shapes);
    }
}

macro_rules! conv_backward_with_parents {
    ($($n:literal),*) => {$(
        impl Backward<Flex, $n> for ConvBackward {
            type State = Vec<FlexTensor>;

            fn backward(self, ops: Ops<Self::State, $n>, grads: &mut Gradients, _: &mut Checkpointer) {
                self.run(ops, grads);
            }
        }
    )*};
}

// x + weight; x + weight + bias; two inputs + weight + bias; three inputs + weight + bias.
conv_backward_with_parents!(2, 3, 4, 5);

/// Records the convolution of `tensors` (`parts` inputs, the weight, perhaps the bias) on
/// the autodiff graph and runs its forward.
fn autodiff_conv<C: CheckpointStrategy, const N: usize>(
    tensors: [FloatTensor<Autodiff<Flex, C>>; N],
    parts: usize,
    padding: [usize; 2],
) -> FloatTensor<Autodiff<Flex, C>>
where
    ConvBackward: Backward<Flex, N, State = Vec<FlexTensor>>,
{
    let nodes = tensors.each_ref().map(|t| t.node());
    let primitives = tensors.map(|t| t.into_primitive());
    let prepared = ConvBackward { padding, parts }.prepare::<C>(nodes).compute_bound().stateful();
    let inputs: Vec<&FlexTensor> = primitives[..parts].iter().collect();
    let bias = (N == parts + 2).then(|| &primitives[parts + 1]);
    let y = flex_forward(&inputs, &primitives[parts], bias, padding);
    match prepared {
        OpsKind::Tracked(prep) => prep.finish(primitives[..=parts].to_vec(), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
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
        autodiff_conv::<C, 3>([x, weight, bias], 1, [pad_h, pad_w])
    }

    fn conv2d_stride1(x: FloatTensor<Self>, weight: FloatTensor<Self>, pad_h: usize, pad_w: usize) -> FloatTensor<Self> {
        autodiff_conv::<C, 2>([x, weight], 1, [pad_h, pad_w])
    }

    fn conv2d_cat2_stride1(
        x1: FloatTensor<Self>,
        x2: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        autodiff_conv::<C, 4>([x1, x2, weight, bias], 2, [pad_h, pad_w])
    }

    fn conv2d_cat3_stride1(
        x1: FloatTensor<Self>,
        x2: FloatTensor<Self>,
        x3: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        autodiff_conv::<C, 5>([x1, x2, x3, weight, bias], 3, [pad_h, pad_w])
    }
}

//! The LSTM memory update `sigmoid(f) c + sigmoid(i) tanh(g)` and output
//! `sigmoid(o) tanh(c)`, each as one flex operation with its own backward. Composed from burn operations it is six passes over memory forward
//! and about nine backward, each with its own buffer; fused it is one pass each way. The
//! gate inputs are usually channel chunks of one convolution output (strided views).

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use crate::activation::{
    chunked, lstm_memory_backward_into, lstm_memory_into, lstm_output_backward_into, lstm_output_into,
};
use crate::flex::{f32_values, flex_tensor, register_gradients, runs_on_flex};

#[backend_extension(Flex, Autodiff)]
pub trait CpuLstmBackend: Backend {
    fn lstm_memory_fused(
        i: FloatTensor<Self>,
        f: FloatTensor<Self>,
        g: FloatTensor<Self>,
        c: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    fn lstm_output_fused(o: FloatTensor<Self>, c: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `sigmoid(o) * tanh(c)` from the output gate's pre-activation `o` and the memory `c`:
/// one fused operation on flex, burn's elsewhere.
pub fn lstm_output(o: Tensor<4>, c: Tensor<4>) -> Tensor<4> {
    assert!(o.dims() == c.dims(), "lstm_output: gate {:?} and memory {:?} differ in shape", o.dims(), c.dims());
    if !runs_on_flex(&c.device()) {
        return burn::tensor::activation::sigmoid(o) * c.tanh();
    }
    Tensor::from_dispatch(<Dispatch as CpuLstmBackend>::lstm_output_fused(o.into_dispatch(), c.into_dispatch()))
}

/// `sigmoid(f) * c + sigmoid(i) * tanh(g)` from gate pre-activations `i, f, g` and the
/// previous memory `c` (all one shape): one fused operation on flex, burn's elsewhere.
pub fn lstm_memory(i: Tensor<4>, f: Tensor<4>, g: Tensor<4>, c: Tensor<4>) -> Tensor<4> {
    assert!(
        i.dims() == c.dims() && f.dims() == c.dims() && g.dims() == c.dims(),
        "lstm_memory: gates {:?} {:?} {:?} and memory {:?} differ in shape",
        i.dims(),
        f.dims(),
        g.dims(),
        c.dims()
    );
    if !runs_on_flex(&c.device()) {
        use burn::tensor::activation::sigmoid;
        return sigmoid(f) * c + sigmoid(i) * g.tanh();
    }
    Tensor::from_dispatch(<Dispatch as CpuLstmBackend>::lstm_memory_fused(
        i.into_dispatch(),
        f.into_dispatch(),
        g.into_dispatch(),
        c.into_dispatch(),
    ))
}

fn forward(i: &FlexTensor, f: &FlexTensor, g: &FlexTensor, c: &FlexTensor) -> FlexTensor {
    let [iv, fv, gv, cv] = [i, f, g, c].map(f32_values);
    let mut out = vec![0.0f32; cv.len()];
    chunked([&mut out], &[&iv, &fv, &gv, &cv], |[o], x| lstm_memory_into(o, x[0], x[1], x[2], x[3]));
    flex_tensor(out, c.layout().shape().clone())
}

#[derive(Debug)]
struct LstmMemoryBackward;

impl Backward<Flex, 4> for LstmMemoryBackward {
    /// The four inputs (flex views share their buffers: nothing is copied).
    type State = [FlexTensor; 4];

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dm = grads.consume::<Flex>(&ops.node);
        let [iv, fv, gv, cv] = ops.state.each_ref().map(f32_values);
        let dmv = f32_values(&dm);
        let n = cv.len();
        let [mut di, mut df, mut dg, mut dc] = std::array::from_fn(|_| vec![0.0f32; n]);
        chunked([&mut di, &mut df, &mut dg, &mut dc], &[&iv, &fv, &gv, &cv, &dmv], |[a, b, c, d], x| {
            lstm_memory_backward_into(a, b, c, d, x[0], x[1], x[2], x[3], x[4])
        });
        let shape = ops.state[3].layout().shape().clone();
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grads, parents, [di, df, dg, dc].map(Some), std::array::from_fn(|_| shape.clone()));
    }
}

fn output_forward(o: &FlexTensor, c: &FlexTensor) -> FlexTensor {
    let [ov, cv] = [o, c].map(f32_values);
    let mut out = vec![0.0f32; cv.len()];
    chunked([&mut out], &[&ov, &cv], |[h], x| lstm_output_into(h, x[0], x[1]));
    flex_tensor(out, c.layout().shape().clone())
}

#[derive(Debug)]
struct LstmOutputBackward;

impl Backward<Flex, 2> for LstmOutputBackward {
    type State = [FlexTensor; 2];

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dh = grads.consume::<Flex>(&ops.node);
        let [ov, cv] = ops.state.each_ref().map(f32_values);
        let dhv = f32_values(&dh);
        let [mut d_o, mut d_c] = std::array::from_fn(|_| vec![0.0f32; cv.len()]);
        chunked([&mut d_o, &mut d_c], &[&ov, &cv, &dhv], |[a, b], x| lstm_output_backward_into(a, b, x[0], x[1], x[2]));
        let shape = ops.state[1].layout().shape().clone();
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grads, parents, [d_o, d_c].map(Some), std::array::from_fn(|_| shape.clone()));
    }
}

impl CpuLstmBackend for Flex {
    fn lstm_memory_fused(i: FlexTensor, f: FlexTensor, g: FlexTensor, c: FlexTensor) -> FlexTensor {
        forward(&i, &f, &g, &c)
    }

    fn lstm_output_fused(o: FlexTensor, c: FlexTensor) -> FlexTensor {
        output_forward(&o, &c)
    }
}

impl<C: CheckpointStrategy> CpuLstmBackend for Autodiff<Flex, C> {
    fn lstm_memory_fused(
        i: FloatTensor<Self>,
        f: FloatTensor<Self>,
        g: FloatTensor<Self>,
        c: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let prepared = LstmMemoryBackward
            .prepare::<C>([i.node(), f.node(), g.node(), c.node()])
            .compute_bound()
            .stateful();
        let inputs = [i, f, g, c].map(|t| t.into_primitive());
        let m = forward(&inputs[0], &inputs[1], &inputs[2], &inputs[3]);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(inputs, m),
            OpsKind::UnTracked(prep) => prep.finish(m),
        }
    }

    fn lstm_output_fused(o: FloatTensor<Self>, c: FloatTensor<Self>) -> FloatTensor<Self> {
        let prepared = LstmOutputBackward.prepare::<C>([o.node(), c.node()]).compute_bound().stateful();
        let inputs = [o, c].map(|t| t.into_primitive());
        let h = output_forward(&inputs[0], &inputs[1]);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(inputs, h),
            OpsKind::UnTracked(prep) => prep.finish(h),
        }
    }
}

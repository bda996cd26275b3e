//! The LSTM memory update `sigmoid(f) c + sigmoid(i) tanh(g)` and output
//! `sigmoid(o) tanh(c)`, each as one flex operation with its own backward, reading the gates
//! in place from the gate tensor a convolution wrote (see [`crate::gate_blocks`]). Composed
//! from burn operations the update is six passes over memory forward and about nine backward,
//! plus a gathered copy of each gate chunk and, backward, a zeroed full-size gradient per
//! chunk; fused it is one pass each way and one gate gradient. The increment
//! `sigmoid(i) tanh(g)` alone (PredRNN-V2's decoupling loss) is fused the same way.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use crate::activation::{
    lstm_increment_backward_into, lstm_increment_into, lstm_memory_backward_into, lstm_memory_into,
    lstm_output_backward_into, lstm_output_into,
};
use crate::flex::{dims4, f32_values, flex_tensor, register_gradients, runs_on_flex};
use crate::gate_blocks::{DisjointOut, GateLayout};
use crate::zeroed::zeroed;

#[backend_extension(Flex, Autodiff)]
pub trait CpuLstmBackend: Backend {
    /// The memory update from blocks `i, f, g` of `blocks` equal channel blocks of `gates`.
    fn lstm_memory_fused(
        gates: FloatTensor<Self>,
        c: FloatTensor<Self>,
        blocks: usize,
        i: usize,
        f: usize,
        g: usize,
    ) -> FloatTensor<Self>;

    /// The output from block `o` of `blocks` equal channel blocks of `gates`.
    fn lstm_output_fused(gates: FloatTensor<Self>, c: FloatTensor<Self>, blocks: usize, o: usize) -> FloatTensor<Self>;

    /// The increment from blocks `i, g` of `blocks` equal channel blocks of `gates`.
    fn lstm_increment_fused(gates: FloatTensor<Self>, blocks: usize, i: usize, g: usize) -> FloatTensor<Self>;
}

/// Block `k` of `blocks` equal channel blocks of `gates` (burn's path off flex).
fn block(gates: &Tensor<4>, blocks: usize, k: usize) -> Tensor<4> {
    let width = gates.dims()[1] / blocks;
    gates.clone().narrow(1, k * width, width)
}

fn check_shapes(name: &str, gates: &Tensor<4>, blocks: usize, picked: &[usize], c: &Tensor<4>) {
    let [g, m] = [gates.dims(), c.dims()];
    assert!(
        g[0] == m[0] && g[1] == blocks * m[1] && g[2..] == m[2..],
        "{name}: gates {g:?} are not {blocks} blocks shaped like the memory {m:?}"
    );
    assert!(picked.iter().all(|&k| k < blocks), "{name}: gate blocks {picked:?} outside 0..{blocks}");
    let distinct = picked.iter().enumerate().all(|(n, k)| !picked[..n].contains(k));
    assert!(distinct, "{name}: gate blocks {picked:?} repeat");
}

/// `sigmoid(o) * tanh(c)` with `o` block `o` of `blocks` equal channel blocks of `gates`
/// and `c` the memory: one fused operation on flex, burn's elsewhere.
pub fn lstm_output(gates: Tensor<4>, blocks: usize, o: usize, c: Tensor<4>) -> Tensor<4> {
    check_shapes("lstm_output", &gates, blocks, &[o], &c);
    if !runs_on_flex(&c.device()) {
        return burn::tensor::activation::sigmoid(block(&gates, blocks, o)) * c.tanh();
    }
    Tensor::from_dispatch(<Dispatch as CpuLstmBackend>::lstm_output_fused(
        gates.into_dispatch(),
        c.into_dispatch(),
        blocks,
        o,
    ))
}

/// `sigmoid(f) * c + sigmoid(i) * tanh(g)` with `[i, f, g]` blocks of `blocks` equal channel
/// blocks of `gates` and `c` the previous memory: one fused operation on flex, burn's elsewhere.
pub fn lstm_memory(gates: Tensor<4>, blocks: usize, [i, f, g]: [usize; 3], c: Tensor<4>) -> Tensor<4> {
    check_shapes("lstm_memory", &gates, blocks, &[i, f, g], &c);
    if !runs_on_flex(&c.device()) {
        use burn::tensor::activation::sigmoid;
        let [i, f, g] = [i, f, g].map(|k| block(&gates, blocks, k));
        return sigmoid(f) * c + sigmoid(i) * g.tanh();
    }
    Tensor::from_dispatch(<Dispatch as CpuLstmBackend>::lstm_memory_fused(
        gates.into_dispatch(),
        c.into_dispatch(),
        blocks,
        i,
        f,
        g,
    ))
}

/// `sigmoid(i) * tanh(g)` with `[i, g]` blocks of `blocks` equal channel blocks of `gates`:
/// one fused operation on flex, burn's elsewhere. Shaped like one block.
pub fn lstm_increment(gates: Tensor<4>, blocks: usize, [i, g]: [usize; 2]) -> Tensor<4> {
    let [b, channels, h, w] = gates.dims();
    assert!(
        blocks > 0 && channels % blocks == 0,
        "lstm_increment: gates of {channels} channels are not {blocks} equal blocks"
    );
    assert!(i < blocks && g < blocks && i != g, "lstm_increment: gate blocks {:?} outside 0..{blocks} or equal", [i, g]);
    if !runs_on_flex(&gates.device()) {
        use burn::tensor::activation::sigmoid;
        return sigmoid(block(&gates, blocks, i)) * block(&gates, blocks, g).tanh();
    }
    let out = Tensor::<4>::from_dispatch(<Dispatch as CpuLstmBackend>::lstm_increment_fused(
        gates.into_dispatch(),
        blocks,
        i,
        g,
    ));
    debug_assert_eq!(out.dims(), [b, channels / blocks, h, w]);
    out
}

/// The two gradients every backward here produces: of the whole gate tensor (zero in the
/// blocks the operation does not read: another operation adds theirs) and of the memory.
fn gradient_buffers(at: &GateLayout) -> (Vec<f32>, Vec<f32>) {
    (zeroed(at.gates_len()), zeroed(at.state_len()))
}

/// Hands the gate and memory gradients to the operation's parents.
fn register_gate_gradients(grads: &mut Gradients, ops: Ops<[FlexTensor; 2], 2>, d_gates: Vec<f32>, dc: Vec<f32>) {
    let shapes = ops.state.each_ref().map(|t| t.layout().shape().clone());
    let parents = ops.parents.map(|p| p.map(|node| node.id));
    register_gradients(grads, parents, [Some(d_gates), Some(dc)], shapes);
}

fn layout(gates: &FlexTensor, c: &FlexTensor, blocks: usize) -> GateLayout {
    let [batch, channels, h, w] = dims4(c);
    debug_assert_eq!(dims4(gates), [batch, blocks * channels, h, w]);
    GateLayout { batch, blocks, plane: channels * h * w }
}

/// The memory update's forward and backward state: which blocks are `i, f, g`.
#[derive(Debug, Clone, Copy)]
struct LstmMemory {
    blocks: usize,
    picked: [usize; 3],
}

impl LstmMemory {
    fn forward(self, gates: &FlexTensor, c: &FlexTensor) -> FlexTensor {
        let at = layout(gates, c, self.blocks);
        let (gv, cv) = (f32_values(gates), f32_values(c));
        let mut out = zeroed(at.state_len());
        let sink = DisjointOut::new(&mut out);
        at.for_each_piece(|item, start, len| {
            let [i, f, g] = self.picked.map(|k| &gv[at.block_start(item, k) + start..][..len]);
            let state = item * at.plane + start;
            // SAFETY: pieces are disjoint ranges of `out`.
            lstm_memory_into(unsafe { sink.range(state, len) }, i, f, g, &cv[state..][..len]);
        });
        flex_tensor(out, c.layout().shape().clone())
    }
}

impl Backward<Flex, 2> for LstmMemory {
    /// The gates and the previous memory (flex tensors share their buffers: nothing copied).
    type State = [FlexTensor; 2];

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dm = grads.consume::<Flex>(&ops.node);
        let [gates, c] = &ops.state;
        let at = layout(gates, c, self.blocks);
        let (gv, cv, dmv) = (f32_values(gates), f32_values(c), f32_values(&dm));
        let (mut d_gates, mut dc) = gradient_buffers(&at);
        let (gate_sink, memory_sink) = (DisjointOut::new(&mut d_gates), DisjointOut::new(&mut dc));
        at.for_each_piece(|item, start, len| {
            let [i, f, g] = self.picked.map(|k| &gv[at.block_start(item, k) + start..][..len]);
            let state = item * at.plane + start;
            // SAFETY: pieces are disjoint ranges, and the three blocks are distinct (checked).
            let [di, df, dg] = self.picked.map(|k| unsafe { gate_sink.range(at.block_start(item, k) + start, len) });
            let dc = unsafe { memory_sink.range(state, len) };
            lstm_memory_backward_into(di, df, dg, dc, i, f, g, &cv[state..][..len], &dmv[state..][..len]);
        });
        register_gate_gradients(grads, ops, d_gates, dc);
    }
}

/// The output's forward and backward state: which block is `o`.
#[derive(Debug, Clone, Copy)]
struct LstmOutput {
    blocks: usize,
    picked: usize,
}

impl LstmOutput {
    fn forward(self, gates: &FlexTensor, c: &FlexTensor) -> FlexTensor {
        let at = layout(gates, c, self.blocks);
        let (gv, cv) = (f32_values(gates), f32_values(c));
        let mut out = zeroed(at.state_len());
        let sink = DisjointOut::new(&mut out);
        at.for_each_piece(|item, start, len| {
            let state = item * at.plane + start;
            let o = &gv[at.block_start(item, self.picked) + start..][..len];
            // SAFETY: pieces are disjoint ranges of `out`.
            lstm_output_into(unsafe { sink.range(state, len) }, o, &cv[state..][..len]);
        });
        flex_tensor(out, c.layout().shape().clone())
    }
}

impl Backward<Flex, 2> for LstmOutput {
    type State = [FlexTensor; 2];

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dh = grads.consume::<Flex>(&ops.node);
        let [gates, c] = &ops.state;
        let at = layout(gates, c, self.blocks);
        let (gv, cv, dhv) = (f32_values(gates), f32_values(c), f32_values(&dh));
        let (mut d_gates, mut dc) = gradient_buffers(&at);
        let (gate_sink, memory_sink) = (DisjointOut::new(&mut d_gates), DisjointOut::new(&mut dc));
        at.for_each_piece(|item, start, len| {
            let (gate, state) = (at.block_start(item, self.picked) + start, item * at.plane + start);
            // SAFETY: pieces are disjoint ranges of each buffer.
            let (d_o, dc) = unsafe { (gate_sink.range(gate, len), memory_sink.range(state, len)) };
            lstm_output_backward_into(d_o, dc, &gv[gate..][..len], &cv[state..][..len], &dhv[state..][..len]);
        });
        register_gate_gradients(grads, ops, d_gates, dc);
    }
}

/// The increment's forward and backward state: which blocks are `i, g`.
#[derive(Debug, Clone, Copy)]
struct LstmIncrement {
    blocks: usize,
    picked: [usize; 2],
}

impl LstmIncrement {
    fn layout(self, gates: &FlexTensor) -> (GateLayout, [usize; 4]) {
        let [batch, channels, h, w] = dims4(gates);
        let channels = channels / self.blocks;
        (GateLayout { batch, blocks: self.blocks, plane: channels * h * w }, [batch, channels, h, w])
    }

    fn forward(self, gates: &FlexTensor) -> FlexTensor {
        let (at, shape) = self.layout(gates);
        let gv = f32_values(gates);
        let mut out = zeroed(at.state_len());
        let sink = DisjointOut::new(&mut out);
        at.for_each_piece(|item, start, len| {
            let [i, g] = self.picked.map(|k| &gv[at.block_start(item, k) + start..][..len]);
            // SAFETY: pieces are disjoint ranges of `out`.
            lstm_increment_into(unsafe { sink.range(item * at.plane + start, len) }, i, g);
        });
        flex_tensor(out, shape)
    }
}

impl Backward<Flex, 1> for LstmIncrement {
    /// The gates (shares their buffer: nothing copied).
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dd = grads.consume::<Flex>(&ops.node);
        let gates = &ops.state;
        let (at, _) = self.layout(gates);
        let (gv, ddv) = (f32_values(gates), f32_values(&dd));
        // Zero in the blocks the increment does not read: another operation adds theirs.
        let mut d_gates = zeroed(at.gates_len());
        let gate_sink = DisjointOut::new(&mut d_gates);
        at.for_each_piece(|item, start, len| {
            let [i, g] = self.picked.map(|k| &gv[at.block_start(item, k) + start..][..len]);
            // SAFETY: pieces are disjoint ranges, and the two blocks are distinct (checked).
            let [di, dg] = self.picked.map(|k| unsafe { gate_sink.range(at.block_start(item, k) + start, len) });
            lstm_increment_backward_into(di, dg, i, g, &ddv[item * at.plane + start..][..len]);
        });
        let shape = gates.layout().shape().clone();
        register_gradients(grads, [ops.parents[0].as_ref().map(|p| p.id)], [Some(d_gates)], [shape]);
    }
}

impl CpuLstmBackend for Flex {
    fn lstm_memory_fused(gates: FlexTensor, c: FlexTensor, blocks: usize, i: usize, f: usize, g: usize) -> FlexTensor {
        LstmMemory { blocks, picked: [i, f, g] }.forward(&gates, &c)
    }

    fn lstm_output_fused(gates: FlexTensor, c: FlexTensor, blocks: usize, o: usize) -> FlexTensor {
        LstmOutput { blocks, picked: o }.forward(&gates, &c)
    }

    fn lstm_increment_fused(gates: FlexTensor, blocks: usize, i: usize, g: usize) -> FlexTensor {
        LstmIncrement { blocks, picked: [i, g] }.forward(&gates)
    }
}

impl<C: CheckpointStrategy> CpuLstmBackend for Autodiff<Flex, C> {
    fn lstm_memory_fused(
        gates: FloatTensor<Self>,
        c: FloatTensor<Self>,
        blocks: usize,
        i: usize,
        f: usize,
        g: usize,
    ) -> FloatTensor<Self> {
        let op = LstmMemory { blocks, picked: [i, f, g] };
        let prepared = op.prepare::<C>([gates.node(), c.node()]).compute_bound().stateful();
        let inputs = [gates, c].map(|t| t.into_primitive());
        let m = op.forward(&inputs[0], &inputs[1]);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(inputs, m),
            OpsKind::UnTracked(prep) => prep.finish(m),
        }
    }

    fn lstm_output_fused(gates: FloatTensor<Self>, c: FloatTensor<Self>, blocks: usize, o: usize) -> FloatTensor<Self> {
        let op = LstmOutput { blocks, picked: o };
        let prepared = op.prepare::<C>([gates.node(), c.node()]).compute_bound().stateful();
        let inputs = [gates, c].map(|t| t.into_primitive());
        let h = op.forward(&inputs[0], &inputs[1]);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(inputs, h),
            OpsKind::UnTracked(prep) => prep.finish(h),
        }
    }

    fn lstm_increment_fused(gates: FloatTensor<Self>, blocks: usize, i: usize, g: usize) -> FloatTensor<Self> {
        let op = LstmIncrement { blocks, picked: [i, g] };
        let prepared = op.prepare::<C>([gates.node()]).compute_bound().stateful();
        let gates = gates.into_primitive();
        let d = op.forward(&gates);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(gates, d),
            OpsKind::UnTracked(prep) => prep.finish(d),
        }
    }
}

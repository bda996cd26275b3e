//! Recurrent cells: interchangeable parts that the architectures stack or arrange in a pyramid.
//!
//! A cell sees its input, its own state, and what the architecture hands it (the zig-zag
//! memory, the tensor to difference against); where it sits is the architecture's business.

mod causal_lstm;
mod cms_lstm;
pub(crate) mod convlstm;
pub(crate) mod mim;
mod mk_lstm;
mod modernn;
mod motion_rnn;
mod precip_lstm;
mod st_lstm;
mod trajgru;

pub use causal_lstm::{CausalLstmCell, CausalLstmCellConfig};
pub use cms_lstm::{CmsLstmCell, CmsLstmCellConfig};
pub use convlstm::{ConvLstmCell, ConvLstmCellConfig};
pub use mim::{MimCell, MimCellConfig};
pub use mk_lstm::{MkLstmCell, MkLstmCellConfig};
pub use modernn::{MoDeCell, MoDeCellConfig};
pub use motion_rnn::{MotionRnnCell, MotionRnnCellConfig};
pub use precip_lstm::{PrecipLstmCell, PrecipLstmCellConfig};
pub use st_lstm::{StLstmCell, StLstmCellConfig};
pub use trajgru::{TrajGruCell, TrajGruCellConfig};

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Device, Tensor};

use crate::ModelConfig;

/// What the cell differences its input against (`x - previous`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Previous {
    /// Nothing: the cell does not look back.
    Nothing,
    /// The output of the layer below at the previous step (MIM, MotionRNN); zeros for layer 0.
    LowerOutput,
    /// This layer's own input at the previous step (PrecipLSTM).
    OwnInput,
}

/// One layer's input at one time step.
pub struct CellInput {
    pub x: Tensor<4>,
    /// The zig-zag spatiotemporal memory entering this layer (`None` = zeros).
    pub memory: Option<Tensor<4>>,
    /// See [`Previous`] (`None` = zeros).
    pub previous: Option<Tensor<4>>,
    /// Index of the layer and number of layers (some cells act differently by position).
    pub layer: usize,
    pub layers: usize,
}

/// One layer's output at one time step.
pub struct CellOutput<S> {
    pub h: Tensor<4>,
    pub state: S,
    /// The zig-zag memory leaving this layer, for cells that carry one.
    pub memory: Option<Tensor<4>>,
    /// The increments (delta c, delta m) of an ST-LSTM, for PredRNN-V2's decoupling loss.
    pub increments: Option<Increments>,
}

/// The increments `sigmoid(i) tanh(g)` of an ST-LSTM's two memories, made only when asked
/// for (PredRNN-V2's decoupling loss): the memory updates themselves are fused.
pub struct Increments {
    /// The temporal memory's gates `[i, f, g, o]` and the spatial memory's `[i, f, g]`.
    pub(crate) temporal: Gates<4>,
    pub(crate) spatial: Gates<3>,
}

impl Increments {
    /// `(delta c, delta m)`.
    pub fn tensors(self) -> (Tensor<4>, Tensor<4>) {
        (self.temporal.lstm_increment([0, 2]), self.spatial.lstm_increment([0, 2]))
    }
}

impl<S> CellOutput<S> {
    pub(crate) fn plain(h: Tensor<4>, state: S) -> Self {
        Self {
            h,
            state,
            memory: None,
            increments: None,
        }
    }
}

/// One recurrent layer of hidden width C.
pub trait Cell: Module + ModuleDisplay + 'static {
    /// Everything the cell carries from one step to the next, at its own resolution.
    type State: Clone + Send;

    /// Whether the cell reads and writes the zig-zag memory.
    const USES_MEMORY: bool = false;
    /// What the architecture must keep for `CellInput::previous`.
    const PREVIOUS: Previous = Previous::Nothing;

    /// Builds a cell of the model's width; every layer of the paper's models has the same shape.
    fn from_model_config(config: &ModelConfig, device: &Device) -> Self;

    /// One time step. `state` is `None` at t = 0: zeros shaped like `x`, as in the
    /// authors' code (`hiddens=None`).
    fn step(&self, input: CellInput, state: Option<Self::State>) -> CellOutput<Self::State>;
}

/// The pre-activations of `N` gates as one convolution wrote them: `[B, N*C, H, W]`, gate
/// `k` in channel block `k` (the order of the authors' `torch.split`/`chunk`).
///
/// The LSTM updates read their gates from here in place (one fused pass on flex, burn's
/// operations elsewhere): no chunk is copied forward, and backward the gate gradient is one
/// tensor instead of a zeroed full-size tensor per chunk.
#[derive(Clone, Debug)]
pub(crate) struct Gates<const N: usize>(Tensor<4>);

impl<const N: usize> Gates<N> {
    pub(crate) fn new(pre_activations: Tensor<4>) -> Self {
        let channels = pre_activations.dims()[1];
        assert!(channels % N == 0, "a gate tensor of {channels} channels does not split into {N} gates");
        Self(pre_activations)
    }

    /// `c' = sigmoid(f) c + sigmoid(i) tanh(g)`, the LSTM memory update, with `i, f, g` the
    /// gates at `[i, f, g]`.
    pub(crate) fn lstm_memory(&self, [i, f, g]: [usize; 3], c: Tensor<4>) -> Tensor<4> {
        vpbench_kernels::lstm_memory(self.0.clone(), N, [i, f, g], c)
    }

    /// `sigmoid(i) tanh(g)`, the memory's increment, with `i, g` the gates at `[i, g]`.
    pub(crate) fn lstm_increment(&self, [i, g]: [usize; 2]) -> Tensor<4> {
        vpbench_kernels::lstm_increment(self.0.clone(), N, [i, g])
    }

    /// `h = sigmoid(o) tanh(c)`, the LSTM output, with `o` the gate at `o`.
    pub(crate) fn lstm_output(&self, o: usize, c: Tensor<4>) -> Tensor<4> {
        vpbench_kernels::lstm_output(self.0.clone(), N, o, c)
    }

    /// Gate `k` alone.
    pub(crate) fn gate(&self, k: usize) -> Tensor<4> {
        let width = self.0.dims()[1] / N;
        self.0.clone().narrow(1, k * width, width)
    }
}

/// `sigmoid(o) tanh(c)` for an output gate's pre-activation `o` (one fused pass on flex).
pub(crate) fn lstm_output(o: Tensor<4>, c: Tensor<4>) -> Tensor<4> {
    Gates::<1>::new(o).lstm_output(0, c)
}

/// Splits gate pre-activations into `N` equal channel blocks, in chunk order.
pub(crate) fn split_gates<const N: usize>(gates: Tensor<4>) -> [Tensor<4>; N] {
    gates
        .chunk(N, 1)
        .try_into()
        .unwrap_or_else(|v: Vec<_>| panic!("gate tensor split into {} blocks, not {N}", v.len()))
}

/// `t`, or zeros shaped like `like` where absent.
pub(crate) fn or_zeros(t: Option<Tensor<4>>, like: &Tensor<4>) -> Tensor<4> {
    t.unwrap_or_else(|| like.zeros_like())
}

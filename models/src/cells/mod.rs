//! Recurrent cells: interchangeable parts that the architectures stack or arrange in a pyramid.
//!
//! A cell sees only its own input and state; where it sits (resolution, neighbours) is the
//! architecture's business.

mod convlstm;
mod mk_lstm;

pub use convlstm::{ConvLstmCell, ConvLstmCellConfig};
pub use mk_lstm::{MkLstmCell, MkLstmCellConfig};

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Device, Tensor};

use crate::ModelConfig;

/// One recurrent layer of hidden width C: `(x, state) -> (h, state')`.
pub trait Cell: Module + ModuleDisplay + 'static {
    /// Everything the cell carries from one step to the next, at the cell's own resolution.
    type State: Clone + Send;

    /// Builds a cell of the model's width; every layer of the paper's models has the same shape.
    fn from_model_config(config: &ModelConfig, device: &Device) -> Self;

    /// One time step. `state` is `None` at t = 0: zeros shaped like `x`, as in the
    /// authors' code (`hiddens=None`).
    fn step(&self, x: Tensor<4>, state: Option<Self::State>) -> (Tensor<4>, Self::State);
}

/// `c' = sigmoid(f) c + sigmoid(i) tanh(g)`, the LSTM memory update shared by the cells.
pub(crate) fn lstm_memory(i: Tensor<4>, f: Tensor<4>, g: Tensor<4>, c: Tensor<4>) -> Tensor<4> {
    use burn::tensor::activation::sigmoid;
    sigmoid(f) * c + sigmoid(i) * g.tanh()
}

/// Splits gate pre-activations into `N` equal channel blocks, in chunk order.
pub(crate) fn split_gates<const N: usize>(gates: Tensor<4>) -> [Tensor<4>; N] {
    gates
        .chunk(N, 1)
        .try_into()
        .unwrap_or_else(|v: Vec<_>| panic!("gate tensor split into {} blocks, not {N}", v.len()))
}

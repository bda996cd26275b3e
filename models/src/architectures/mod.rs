//! Architectures: how the cells of a model are wired, generic over the cell.

mod pyramid;
mod stack;

pub use pyramid::Pyramid;
pub use stack::Stack;

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Device, Tensor};

use crate::{ModelConfig, ModelError};

/// The recurrent core between the embedding and the output head (`rnns` in the authors' code).
pub trait Architecture: Module + ModuleDisplay + 'static {
    /// The states of all layers.
    type State: Clone + Send;

    /// Builds the core for `config`, or says why the configuration does not fit it.
    fn new(model: &str, config: &ModelConfig, device: &Device) -> Result<Self, ModelError>
    where
        Self: Sized;

    /// One time step on embedded input `x` (`[B, C, H, W]`); returns the top layer's output.
    fn step(&self, x: Tensor<4>, state: Option<Self::State>) -> (Tensor<4>, Self::State);
}

/// Advances every layer's state, starting from `None` (zeros) at t = 0.
pub(crate) fn layer_states<S>(state: Option<Vec<S>>, layers: usize) -> Vec<Option<S>> {
    match state {
        Some(states) => states.into_iter().map(Some).collect(),
        None => (0..layers).map(|_| None).collect(),
    }
}

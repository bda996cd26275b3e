//! The flat stack: every layer at full resolution, each feeding the next.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::{Architecture, layer_states};
use crate::cells::Cell;
use crate::{ModelConfig, ModelError};

#[derive(Module, Debug)]
pub struct Stack<C: Cell> {
    /// `rnns.lstm.<l>` in the authors' state dict.
    pub lstm: Vec<C>,
}

impl<C: Cell> Architecture for Stack<C> {
    type State = Vec<C::State>;

    fn new(model: &str, config: &ModelConfig, device: &Device) -> Result<Self, ModelError> {
        if config.layers == 0 {
            return Err(ModelError::InvalidConfig {
                model: model.to_string(),
                field: "layers",
                problem: "must be at least 1".into(),
            });
        }
        Ok(Self {
            lstm: (0..config.layers)
                .map(|_| C::from_model_config(config, device))
                .collect(),
        })
    }

    fn step(&self, mut x: Tensor<4>, state: Option<Self::State>) -> (Tensor<4>, Self::State) {
        let mut next = Vec::with_capacity(self.lstm.len());
        for (cell, s) in self.lstm.iter().zip(layer_states(state, self.lstm.len())) {
            let (h, s) = cell.step(x, s);
            next.push(s);
            x = h;
        }
        (x, next)
    }
}

//! The flat stack: every layer at full resolution, each feeding the next.

use burn::module::Module;
use crate::layers::Conv2d;
use burn::tensor::{Device, Tensor};

use super::{Architecture, CoreOptions, CoreOutput, LayersState, Transition, adapter, step_layers};
use crate::cells::Cell;
use crate::{ModelConfig, ModelError};

#[derive(Module, Debug)]
pub struct Stack<C: Cell> {
    /// `rnns.lstm.<l>` in the authors' state dict.
    pub lstm: Vec<C>,
    /// `rnns.adapter` (PredRNN-V2 only).
    pub adapter: Option<Conv2d>,
}

impl<C: Cell> Architecture for Stack<C> {
    type State = LayersState<C::State>;

    fn new(
        model: &str,
        config: &ModelConfig,
        options: CoreOptions,
        device: &Device,
    ) -> Result<Self, ModelError> {
        if config.layers == 0 {
            return Err(ModelError::InvalidConfig {
                model: model.to_string(),
                field: "layers",
                problem: "must be at least 1".into(),
            });
        }
        let lstm = (0..config.layers)
            .map(|_| C::from_model_config(config, device))
            .collect();
        Ok(Self {
            lstm,
            adapter: adapter(config, options, device),
        })
    }

    fn step(&self, x: Tensor<4>, state: Option<Self::State>) -> CoreOutput<Self::State> {
        let wiring = vec![Transition::Same; self.lstm.len()];
        step_layers(&self.lstm, &wiring, self.adapter.as_ref(), x, state)
    }
}

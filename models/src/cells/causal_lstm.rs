//! PredRNN++'s causal LSTM with the gradient highway unit (`models/predrnn_plus2.py`).
//!
//! Every layer owns GHU convolutions (`_conv_x`, `_conv_z`) but only the second layer
//! (index 1) runs them: the others are kept so parameter counts match the authors'.

use burn::config::Config;
use burn::module::Module;
use crate::layers::{Conv2d, conv_sum};
use crate::layers::{sigmoid, tanh};
use burn::tensor::{Device, Tensor};

use super::{Cell, CellInput, CellOutput, Gates, or_zeros, split_gates};
use crate::ModelConfig;
use crate::layers::same_conv;

/// The layer whose input passes through the gradient highway.
const HIGHWAY_LAYER: usize = 1;

#[derive(Config, Debug)]
pub struct CausalLstmCellConfig {
    pub hidden: usize,
    #[config(default = 3)]
    pub kernel: usize,
}

#[derive(Module, Debug)]
pub struct CausalLstmCell {
    pub _conv_x_h_c: Conv2d,
    pub _conv_x_c_m: Conv2d,
    pub _conv_m: Conv2d,
    pub _conv_o: Conv2d,
    pub _conv_c_m: Conv2d,
    pub _conv_x: Conv2d,
    pub _conv_z: Conv2d,
}

impl CausalLstmCellConfig {
    pub fn init(&self, device: &Device) -> CausalLstmCell {
        let (c, k) = (self.hidden, self.kernel);
        CausalLstmCell {
            _conv_x_h_c: same_conv(3 * c, 3 * c, k, device),
            _conv_x_c_m: same_conv(3 * c, 3 * c, k, device),
            _conv_m: same_conv(c, c, 1, device),
            _conv_o: same_conv(3 * c, c, k, device),
            _conv_c_m: same_conv(2 * c, c, 1, device),
            _conv_x: same_conv(c, 2 * c, k, device),
            _conv_z: same_conv(c, 2 * c, k, device),
        }
    }
}

#[derive(Clone, Debug)]
pub struct CausalLstmState {
    pub h: Tensor<4>,
    pub c: Tensor<4>,
    /// The highway state (layer 1 only).
    pub z: Option<Tensor<4>>,
}

impl Cell for CausalLstmCell {
    type State = CausalLstmState;
    const USES_MEMORY: bool = true;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        CausalLstmCellConfig::new(config.hidden)
            .with_kernel(config.kernel)
            .init(device)
    }

    fn step(
        &self,
        input: CellInput,
        state: Option<CausalLstmState>,
    ) -> CellOutput<CausalLstmState> {
        let mut x = input.x;
        let m = or_zeros(input.memory, &x);
        let CausalLstmState { h, c, z } = state.unwrap_or_else(|| CausalLstmState {
            h: x.zeros_like(),
            c: x.zeros_like(),
            z: None,
        });
        let z = (input.layer == HIGHWAY_LAYER).then(|| {
            let z = or_zeros(z, &x);
            let [p, s] =
                split_gates(conv_sum(&self._conv_x, x.clone(), &self._conv_z, z.clone()));
            let s = sigmoid(s);
            let z = s.clone() * tanh(p) + (s.neg() + 1.0) * z;
            x = z.clone();
            z
        });
        // both [i, f, g]; the spatial memory's forget gate acts on tanh(conv_m(m))
        let c = Gates::<3>::new(self._conv_x_h_c.forward_cat(vec![x.clone(), h, c.clone()]))
            .lstm_memory([0, 1, 2], c);
        let m = Gates::<3>::new(self._conv_x_c_m.forward_cat(vec![x.clone(), c.clone(), m.clone()]))
            .lstm_memory([0, 1, 2], tanh(self._conv_m.forward(m)));
        let o = tanh(self._conv_o.forward_cat(vec![x, c.clone(), m.clone()]));
        let h = o * tanh(self._conv_c_m.forward_cat(vec![c.clone(), m.clone()]));
        CellOutput {
            h: h.clone(),
            state: CausalLstmState { h, c, z },
            memory: Some(m),
            increments: None,
        }
    }
}

//! The spatiotemporal LSTM of PredRNN (`models/predrnn.py`), also PredRNN-V2's cell
//! (`models/predrnn_v2.py`), which additionally hands out its increments for the
//! decoupling loss.

use burn::config::Config;
use burn::module::Module;
use crate::layers::{Conv2d, conv_sum};
use burn::tensor::{Device, Tensor};

use super::{Cell, CellInput, CellOutput, Gates, Increments, lstm_output, or_zeros};
use crate::ModelConfig;
use crate::layers::same_conv;

#[derive(Config, Debug)]
pub struct StLstmCellConfig {
    pub hidden: usize,
    #[config(default = 3)]
    pub kernel: usize,
}

/// ST-LSTM: a ConvLSTM memory `c` in time and a zig-zag memory `m` through the layers.
#[derive(Module, Debug)]
pub struct StLstmCell {
    pub _conv_x2h: Conv2d,
    pub _conv_h2h: Conv2d,
    pub _conv_c2o: Conv2d,
    pub _conv_x2h_m: Conv2d,
    pub _conv_m2h_m: Conv2d,
    pub _conv_m2o: Conv2d,
    pub _conv_c_m: Conv2d,
}

impl StLstmCellConfig {
    pub fn init(&self, device: &Device) -> StLstmCell {
        let (c, k) = (self.hidden, self.kernel);
        StLstmCell {
            _conv_x2h: same_conv(c, 4 * c, k, device),
            _conv_h2h: same_conv(c, 4 * c, k, device),
            _conv_c2o: same_conv(c, c, k, device),
            _conv_x2h_m: same_conv(c, 3 * c, k, device),
            _conv_m2h_m: same_conv(c, 3 * c, k, device),
            _conv_m2o: same_conv(c, c, k, device),
            _conv_c_m: same_conv(2 * c, c, 1, device),
        }
    }
}

#[derive(Clone, Debug)]
pub struct StLstmState {
    pub h: Tensor<4>,
    pub c: Tensor<4>,
}

impl Cell for StLstmCell {
    type State = StLstmState;
    const USES_MEMORY: bool = true;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        StLstmCellConfig::new(config.hidden)
            .with_kernel(config.kernel)
            .init(device)
    }

    fn step(&self, input: CellInput, state: Option<StLstmState>) -> CellOutput<StLstmState> {
        let x = input.x;
        let m = or_zeros(input.memory, &x);
        let StLstmState { h, c } = state.unwrap_or_else(|| StLstmState {
            h: x.zeros_like(),
            c: x.zeros_like(),
        });
        let temporal = Gates::<4>::new(conv_sum(&self._conv_x2h, x.clone(), &self._conv_h2h, h)); // [i, f, g, o]
        let c = temporal.lstm_memory([0, 1, 2], c);
        let spatial = Gates::<3>::new(conv_sum(&self._conv_x2h_m, x, &self._conv_m2h_m, m.clone())); // [i, f, g]
        let m = spatial.lstm_memory([0, 1, 2], m);
        let o = temporal.gate(3) + conv_sum(&self._conv_c2o, c.clone(), &self._conv_m2o, m.clone());
        let h = lstm_output(o, self._conv_c_m.forward_cat(vec![c.clone(), m.clone()]));
        CellOutput {
            h: h.clone(),
            state: StLstmState { h, c },
            memory: Some(m),
            increments: Some(Increments { temporal, spatial }),
        }
    }
}

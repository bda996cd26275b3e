//! The multi-kernel MK-LSTM cell of the MS-LSTM paper (`MK_LSTM_Cell` in `models/ms_lstm.py`).

use burn::config::Config;
use burn::module::Module;
use crate::layers::{Conv2d, conv_sum};
use burn::tensor::{Device, Tensor};

use super::{Cell, CellInput, CellOutput, Gates, lstm_output};
use crate::ModelConfig;
use crate::layers::same_conv;

#[derive(Config, Debug)]
pub struct MkLstmCellConfig {
    /// Input and hidden channels.
    pub hidden: usize,
}

/// Two ConvLSTM gate sets (3x3 and 5x5) sharing one hidden state and keeping two memories.
///
/// The kernels are fixed at 3 and 5 in the authors' code whatever `kernel_size` says.
#[derive(Module, Debug)]
pub struct MkLstmCell {
    pub _conv_x2h_3: Conv2d,
    pub _conv_h2h_3: Conv2d,
    pub _conv_x2h_5: Conv2d,
    pub _conv_h2h_5: Conv2d,
    pub _conv_c2o_3: Conv2d,
    pub _conv_c2o_5: Conv2d,
    pub _conv_out: Conv2d,
}

impl MkLstmCellConfig {
    pub fn init(&self, device: &Device) -> MkLstmCell {
        let c = self.hidden;
        MkLstmCell {
            _conv_x2h_3: same_conv(c, 4 * c, 3, device),
            _conv_h2h_3: same_conv(c, 4 * c, 3, device),
            _conv_x2h_5: same_conv(c, 4 * c, 5, device),
            _conv_h2h_5: same_conv(c, 4 * c, 5, device),
            _conv_c2o_3: same_conv(c, c, 3, device),
            _conv_c2o_5: same_conv(c, c, 5, device),
            _conv_out: same_conv(2 * c, c, 1, device),
        }
    }
}

#[derive(Clone, Debug)]
pub struct MkLstmState {
    pub h: Tensor<4>,
    pub c3: Tensor<4>,
    pub c5: Tensor<4>,
}

impl Cell for MkLstmCell {
    type State = MkLstmState;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        MkLstmCellConfig::new(config.hidden).init(device)
    }

    fn step(&self, input: CellInput, state: Option<MkLstmState>) -> CellOutput<MkLstmState> {
        let x = input.x;
        let MkLstmState { h, c3, c5 } = state.unwrap_or_else(|| MkLstmState {
            h: x.zeros_like(),
            c3: x.zeros_like(),
            c5: x.zeros_like(),
        });
        let gates3 = conv_sum(&self._conv_x2h_3, x.clone(), &self._conv_h2h_3, h.clone());
        let gates5 = conv_sum(&self._conv_x2h_5, x, &self._conv_h2h_5, h);
        // both [i, f, g, o]
        let (gates3, gates5) = (Gates::<4>::new(gates3), Gates::<4>::new(gates5));
        let c3 = gates3.lstm_memory([0, 1, 2], c3);
        let c5 = if crate::faults::is_injected("mk-lstm-swapped-gate") {
            gates5.lstm_memory([1, 0, 2], c5)
        } else {
            gates5.lstm_memory([0, 1, 2], c5)
        };
        let o = gates3.gate(3) + gates5.gate(3) + conv_sum(&self._conv_c2o_3, c3.clone(), &self._conv_c2o_5, c5.clone());
        let mixed = self
            ._conv_out
            .forward_cat(vec![c3.clone(), c5.clone()]);
        let h = lstm_output(o, mixed);
        CellOutput::plain(h.clone(), MkLstmState { h, c3, c5 })
    }
}

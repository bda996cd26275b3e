//! ConvLSTM (Shi et al. 2015) as coded in `models/convlstm.py` of the authors' repository.

use burn::config::Config;
use burn::module::Module;
use crate::layers::{Conv2d, conv_sum};
use burn::tensor::{Device, Tensor};

use super::{Cell, CellInput, CellOutput, Gates};
use crate::ModelConfig;
use crate::layers::same_conv;

#[derive(Config, Debug)]
pub struct ConvLstmCellConfig {
    /// Input and hidden channels.
    pub hidden: usize,
    /// Kernel of both gate convolutions.
    #[config(default = 3)]
    pub kernel: usize,
}

/// `[i, f, g, o] = chunk4(Wx x + Wh h)`; no peepholes.
///
/// Field names are the authors' PyTorch names, so a state dict loads by name.
#[derive(Module, Debug)]
pub struct ConvLstmCell {
    pub _conv_x2h: Conv2d,
    pub _conv_h2h: Conv2d,
}

impl ConvLstmCellConfig {
    pub fn init(&self, device: &Device) -> ConvLstmCell {
        let c = self.hidden;
        let kernel = if crate::faults::is_injected("convlstm-kernel-5") { 5 } else { self.kernel };
        ConvLstmCell {
            _conv_x2h: same_conv(c, 4 * c, kernel, device),
            _conv_h2h: same_conv(c, 4 * c, kernel, device),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ConvLstmState {
    pub h: Tensor<4>,
    pub c: Tensor<4>,
}

impl ConvLstmState {
    /// The state at t = 0: zeros shaped like the input.
    pub(crate) fn zeros(like: &Tensor<4>) -> Self {
        Self {
            h: like.zeros_like(),
            c: like.zeros_like(),
        }
    }

    /// One ConvLSTM update with gate convolutions `x2h` and `h2h` (shared by the cells
    /// that wrap a ConvLSTM: MoDeRNN, CMS-LSTM).
    pub(crate) fn update(self, x2h: &Conv2d, h2h: &Conv2d, x: Tensor<4>) -> Self {
        let gates = Gates::<4>::new(conv_sum(x2h, x, h2h, self.h)); // [i, f, g, o]
        let c = gates.lstm_memory([0, 1, 2], self.c);
        let h = gates.lstm_output(3, c.clone());
        Self { h, c }
    }
}

impl Cell for ConvLstmCell {
    type State = ConvLstmState;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        ConvLstmCellConfig::new(config.hidden)
            .with_kernel(config.kernel)
            .init(device)
    }

    fn step(&self, input: CellInput, state: Option<ConvLstmState>) -> CellOutput<ConvLstmState> {
        let x = input.x;
        let state = state.unwrap_or_else(|| ConvLstmState::zeros(&x));
        let next = state.update(&self._conv_x2h, &self._conv_h2h, x);
        CellOutput::plain(next.h.clone(), next)
    }
}

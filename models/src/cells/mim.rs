//! Memory In Memory (`models/mim.py`): an ST-LSTM whose forget term is replaced by a
//! cascade of a non-stationary (memory `n`) and a stationary (memory `s`) module, fed by
//! the temporal difference of the layer below. The first layer keeps the plain forget term;
//! it still computes and carries `n` and `s`, as the authors' code does.

use burn::config::Config;
use burn::module::Module;
use crate::layers::{Conv2d, conv_sum};
use crate::layers::{sigmoid, tanh};
use burn::tensor::{Device, Tensor};

use super::{Cell, CellInput, CellOutput, Gates, Previous, lstm_output, or_zeros};
use crate::ModelConfig;
use crate::layers::same_conv;

#[derive(Config, Debug)]
pub struct MimCellConfig {
    pub hidden: usize,
    #[config(default = 3)]
    pub kernel: usize,
}

#[derive(Module, Debug)]
pub struct MimCell {
    pub _conv_x2h_n: Conv2d,
    pub _conv_n2h_n: Conv2d,
    pub _conv_diff2o: Conv2d,
    pub _conv_n2o: Conv2d,
    pub _conv_x2h_s: Conv2d,
    pub _conv_c2h_s: Conv2d,
    pub _conv_s2o: Conv2d,
    pub _conv_x2h: Conv2d,
    pub _conv_h2h: Conv2d,
    pub _conv_c2o: Conv2d,
    pub _conv_x2h_m: Conv2d,
    pub _conv_m2h_m: Conv2d,
    pub _conv_m2o: Conv2d,
    pub _conv_c_m: Conv2d,
}

impl MimCellConfig {
    pub fn init(&self, device: &Device) -> MimCell {
        let (c, k) = (self.hidden, self.kernel);
        let conv = |cin, cout, k| same_conv(cin, cout, k, device);
        MimCell {
            _conv_x2h_n: conv(c, 3 * c, k),
            _conv_n2h_n: conv(c, 3 * c, k),
            _conv_diff2o: conv(c, c, k),
            _conv_n2o: conv(c, c, k),
            _conv_x2h_s: conv(c, 4 * c, k),
            _conv_c2h_s: conv(c, 4 * c, k),
            _conv_s2o: conv(c, c, k),
            _conv_x2h: conv(c, 4 * c, k),
            _conv_h2h: conv(c, 4 * c, k),
            _conv_c2o: conv(c, c, k),
            _conv_x2h_m: conv(c, 3 * c, k),
            _conv_m2h_m: conv(c, 3 * c, k),
            _conv_m2o: conv(c, c, k),
            _conv_c_m: conv(2 * c, c, 1),
        }
    }
}

#[derive(Clone, Debug)]
pub struct MimState {
    pub h: Tensor<4>,
    pub c: Tensor<4>,
    pub n: Tensor<4>,
    pub s: Tensor<4>,
}

impl MimState {
    pub(crate) fn zeros(like: &Tensor<4>) -> Self {
        Self {
            h: like.zeros_like(),
            c: like.zeros_like(),
            n: like.zeros_like(),
            s: like.zeros_like(),
        }
    }
}

/// The MIM block's result: new state, zig-zag memory and the ST-LSTM output gate.
pub(crate) struct MimStep {
    pub state: MimState,
    pub memory: Tensor<4>,
    pub output_gate: Tensor<4>,
}

/// The convolutions of a MIM block, borrowed from whichever cell holds them (MIM, MotionRNN).
pub(crate) struct MimConvs<'a> {
    pub _conv_x2h_n: &'a Conv2d,
    pub _conv_n2h_n: &'a Conv2d,
    pub _conv_diff2o: &'a Conv2d,
    pub _conv_n2o: &'a Conv2d,
    pub _conv_x2h_s: &'a Conv2d,
    pub _conv_c2h_s: &'a Conv2d,
    pub _conv_s2o: &'a Conv2d,
    pub _conv_x2h: &'a Conv2d,
    pub _conv_h2h: &'a Conv2d,
    pub _conv_c2o: &'a Conv2d,
    pub _conv_x2h_m: &'a Conv2d,
    pub _conv_m2h_m: &'a Conv2d,
    pub _conv_m2o: &'a Conv2d,
    pub _conv_c_m: &'a Conv2d,
}

/// Borrows the MIM convolutions of a cell that has fields of the authors' names.
macro_rules! mim_convs {
    ($cell:expr) => {
        $crate::cells::mim::MimConvs {
            _conv_x2h_n: &$cell._conv_x2h_n,
            _conv_n2h_n: &$cell._conv_n2h_n,
            _conv_diff2o: &$cell._conv_diff2o,
            _conv_n2o: &$cell._conv_n2o,
            _conv_x2h_s: &$cell._conv_x2h_s,
            _conv_c2h_s: &$cell._conv_c2h_s,
            _conv_s2o: &$cell._conv_s2o,
            _conv_x2h: &$cell._conv_x2h,
            _conv_h2h: &$cell._conv_h2h,
            _conv_c2o: &$cell._conv_c2o,
            _conv_x2h_m: &$cell._conv_x2h_m,
            _conv_m2h_m: &$cell._conv_m2h_m,
            _conv_m2o: &$cell._conv_m2o,
            _conv_c_m: &$cell._conv_c_m,
        }
    };
}
pub(crate) use mim_convs;

impl MimConvs<'_> {
    /// One MIM step.
    pub(crate) fn step(&self, input: CellInput, state: Option<MimState>) -> MimStep {
        let x = input.x;
        let m = or_zeros(input.memory, &x);
        let diff = x.clone() - or_zeros(input.previous, &x);
        let MimState { h, c, n, s } = state.unwrap_or_else(|| MimState::zeros(&x));

        // non-stationary module on the temporal difference
        let gates_n = Gates::<3>::new(conv_sum(&self._conv_x2h_n, diff.clone(), &self._conv_n2h_n, n.clone()));
        let n = gates_n.lstm_memory([0, 1, 2], n); // [i, f, g]
        let d = lstm_output(conv_sum(&self._conv_diff2o, diff, &self._conv_n2o, n.clone()), n.clone());
        // stationary module on its output and the previous c
        let gates_s = Gates::<4>::new(conv_sum(&self._conv_x2h_s, d, &self._conv_c2h_s, c.clone()));
        let s = gates_s.lstm_memory([0, 1, 2], s); // [i, f, g, o]
        let t = lstm_output(gates_s.gate(3) + self._conv_s2o.forward(s.clone()), s.clone());

        let gates = Gates::<4>::new(conv_sum(&self._conv_x2h, x.clone(), &self._conv_h2h, h)); // [i, f, g, o]
        let c = if input.layer == 0 {
            gates.lstm_memory([0, 1, 2], c)
        } else {
            t + sigmoid(gates.gate(0)) * tanh(gates.gate(2))
        };
        let gates_m = Gates::<3>::new(conv_sum(&self._conv_x2h_m, x, &self._conv_m2h_m, m.clone()));
        let m = gates_m.lstm_memory([0, 1, 2], m); // [i, f, g]
        let o = sigmoid(gates.gate(3) + conv_sum(&self._conv_c2o, c.clone(), &self._conv_m2o, m.clone()));
        let h = o.clone() * tanh(self._conv_c_m.forward_cat(vec![c.clone(), m.clone()]));
        MimStep {
            state: MimState { h, c, n, s },
            memory: m,
            output_gate: o,
        }
    }
}

impl Cell for MimCell {
    type State = MimState;
    const USES_MEMORY: bool = true;
    const PREVIOUS: Previous = Previous::LowerOutput;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        MimCellConfig::new(config.hidden)
            .with_kernel(config.kernel)
            .init(device)
    }

    fn step(&self, input: CellInput, state: Option<MimState>) -> CellOutput<MimState> {
        let step = mim_convs!(self).step(input, state);
        CellOutput {
            h: step.state.h.clone(),
            state: step.state,
            memory: Some(step.memory),
            increments: None,
        }
    }
}

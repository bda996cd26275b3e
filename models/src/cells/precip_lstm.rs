//! PrecipLSTM (`models/preciplstm.py`): local attention on the input, and besides the
//! ConvLSTM memory `c` and the zig-zag memory `m`, a spatial memory `ms` and a temporal
//! memory `mt` fed by the difference between this layer's input and its previous input.

// Field names are the authors' state-dict names (convQ, SEBlock, conv33_X, LA).
#![allow(non_snake_case)]

use burn::config::Config;
use burn::module::Module;
use crate::layers::{Conv2d, conv_sum};
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Tensor};

use super::{Cell, CellInput, CellOutput, Gates, Previous, lstm_output, or_zeros};
use crate::ModelConfig;
use crate::layers::same_conv;
use crate::ops::local_attention;

#[derive(Config, Debug)]
pub struct PrecipLstmCellConfig {
    pub hidden: usize,
    #[config(default = 3)]
    pub kernel: usize,
    /// `cfg.la_num`: the attention window.
    #[config(default = 30)]
    pub window: usize,
}

/// Q, K and V of the local attention: 1x1 convolutions without bias (`LA.conv1..3`).
#[derive(Module, Debug)]
pub struct LocalAttention {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub conv3: Conv2d,
    window: usize,
}

impl LocalAttention {
    fn new(c: usize, window: usize, device: &Device) -> Self {
        let conv = || {
            Conv2dConfig::new([c, c], [1, 1])
                .with_bias(false)
                .init(device).into()
        };
        Self {
            conv1: conv(),
            conv2: conv(),
            conv3: conv(),
            window,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        local_attention(
            self.conv1.forward(x.clone()),
            self.conv2.forward(x.clone()),
            self.conv3.forward(x),
            self.window,
        )
    }
}

#[derive(Module, Debug)]
pub struct PrecipLstmCell {
    pub _conv_x2h: Conv2d,
    pub _conv_h2h: Conv2d,
    pub _conv_c2o: Conv2d,
    pub _conv_x2h_m: Conv2d,
    pub _conv_m2h_m: Conv2d,
    pub _conv_m2o: Conv2d,
    pub _conv_x2h_ms: Conv2d,
    pub _conv_ms2h_ms: Conv2d,
    pub _conv_ms2o: Conv2d,
    pub _conv_x2h_mt: Conv2d,
    pub _conv_mt2h_mt: Conv2d,
    pub _conv_mt2o: Conv2d,
    pub c_m_ms_mt: Conv2d,
    pub LA: LocalAttention,
    pub _conv_x_x_att: Conv2d,
}

impl PrecipLstmCellConfig {
    pub fn init(&self, device: &Device) -> PrecipLstmCell {
        let (c, k) = (self.hidden, self.kernel);
        let conv = |cin, cout, k| same_conv(cin, cout, k, device);
        PrecipLstmCell {
            _conv_x2h: conv(c, 4 * c, k),
            _conv_h2h: conv(c, 4 * c, k),
            _conv_c2o: conv(c, c, k),
            _conv_x2h_m: conv(c, 3 * c, k),
            _conv_m2h_m: conv(c, 3 * c, k),
            _conv_m2o: conv(c, c, k),
            _conv_x2h_ms: conv(c, 3 * c, k),
            _conv_ms2h_ms: conv(c, 3 * c, k),
            _conv_ms2o: conv(c, c, k),
            _conv_x2h_mt: conv(c, 3 * c, k),
            _conv_mt2h_mt: conv(c, 3 * c, k),
            _conv_mt2o: conv(c, c, k),
            c_m_ms_mt: conv(4 * c, c, 1),
            LA: LocalAttention::new(c, self.window, device),
            _conv_x_x_att: conv(c, c, k),
        }
    }
}

#[derive(Clone, Debug)]
pub struct PrecipLstmState {
    pub h: Tensor<4>,
    pub c: Tensor<4>,
    pub ms: Tensor<4>,
    pub mt: Tensor<4>,
}

impl Cell for PrecipLstmCell {
    type State = PrecipLstmState;
    const USES_MEMORY: bool = true;
    const PREVIOUS: Previous = Previous::OwnInput;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        PrecipLstmCellConfig::new(config.hidden)
            .with_kernel(config.kernel)
            .init(device)
    }

    fn step(
        &self,
        input: CellInput,
        state: Option<PrecipLstmState>,
    ) -> CellOutput<PrecipLstmState> {
        let x = input.x;
        let m = or_zeros(input.memory, &x);
        let diff = x.clone() - or_zeros(input.previous, &x);
        let PrecipLstmState { h, c, ms, mt } = state.unwrap_or_else(|| PrecipLstmState {
            h: x.zeros_like(),
            c: x.zeros_like(),
            ms: x.zeros_like(),
            mt: x.zeros_like(),
        });
        let att = x.clone() + self._conv_x_x_att.forward(self.LA.forward(x));
        // [i, f, g, o], then three [i, f, g]
        let gates = Gates::<4>::new(conv_sum(&self._conv_x2h, att.clone(), &self._conv_h2h, h));
        let c = gates.lstm_memory([0, 1, 2], c);
        let m = Gates::<3>::new(conv_sum(&self._conv_x2h_m, att.clone(), &self._conv_m2h_m, m.clone()))
            .lstm_memory([0, 1, 2], m);
        let ms = Gates::<3>::new(conv_sum(&self._conv_x2h_ms, att, &self._conv_ms2h_ms, ms.clone()))
            .lstm_memory([0, 1, 2], ms);
        let mt = Gates::<3>::new(conv_sum(&self._conv_x2h_mt, diff, &self._conv_mt2h_mt, mt.clone()))
            .lstm_memory([0, 1, 2], mt);
        let o = gates.gate(3)
            + conv_sum(&self._conv_c2o, c.clone(), &self._conv_ms2o, ms.clone())
            + conv_sum(&self._conv_mt2o, mt.clone(), &self._conv_m2o, m.clone());
        let mixed = self.c_m_ms_mt.forward(Tensor::cat(
            vec![c.clone(), ms.clone(), mt.clone(), m.clone()],
            1,
        ));
        let h = lstm_output(o, mixed);
        CellOutput {
            h: h.clone(),
            state: PrecipLstmState { h, c, ms, mt },
            memory: Some(m),
            increments: None,
        }
    }
}

//! MotionRNN (`models/motionrnn.py`): a MIM block followed by a MotionGRU on the same
//! layer's output, and the motion highway. Quirks of the reference kept on purpose:
//! the flow reshape mixes samples when B > 1, the warped-feature reshape scrambles space,
//! and the top layer's MotionGRU runs but its result is discarded.

use burn::config::Config;
use burn::module::Module;
use crate::layers::Conv2d;
use burn::nn::conv::{Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use crate::layers::{sigmoid, tanh};
use burn::tensor::{Device, Tensor};

use super::mim::{MimCellConfig, MimState, mim_convs};
use super::{Cell, CellInput, CellOutput, Previous};
use crate::ModelConfig;
use crate::layers::same_conv;
use crate::ops::warp;

/// Offsets of the MotionGRU's 3x3 neighbourhood (K = k^2).
const NEIGHBOURS: usize = 9;
/// Momentum of the trend (alpha).
const TREND_MOMENTUM: f64 = 0.5;

#[derive(Config, Debug)]
pub struct MotionRnnCellConfig {
    pub hidden: usize,
    #[config(default = 3)]
    pub kernel: usize,
}

#[derive(Module, Debug)]
pub struct MotionRnnCell {
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
    pub _conv_enc: Conv2d,
    pub _conv_u: Conv2d,
    pub _conv_r: Conv2d,
    pub _conv_z: Conv2d,
    pub _conv_hm: Conv2d,
    pub _conv_dec: Conv2d,
    pub _deconv_dec: ConvTranspose2d,
    pub _conv_g: Conv2d,
}

impl MotionRnnCellConfig {
    pub fn init(&self, device: &Device) -> MotionRnnCell {
        let (c, k) = (self.hidden, self.kernel);
        let c4 = c / 4;
        let flow = 2 * NEIGHBOURS;
        let conv = |cin, cout, k| same_conv(cin, cout, k, device);
        // The MIM block's convolutions, built once by MIM's own config.
        let mim = MimCellConfig::new(c).with_kernel(k).init(device);
        MotionRnnCell {
            _conv_x2h_n: mim._conv_x2h_n,
            _conv_n2h_n: mim._conv_n2h_n,
            _conv_diff2o: mim._conv_diff2o,
            _conv_n2o: mim._conv_n2o,
            _conv_x2h_s: mim._conv_x2h_s,
            _conv_c2h_s: mim._conv_c2h_s,
            _conv_s2o: mim._conv_s2o,
            _conv_x2h: mim._conv_x2h,
            _conv_h2h: mim._conv_h2h,
            _conv_c2o: mim._conv_c2o,
            _conv_x2h_m: mim._conv_x2h_m,
            _conv_m2h_m: mim._conv_m2h_m,
            _conv_m2o: mim._conv_m2o,
            _conv_c_m: mim._conv_c_m,
            _conv_enc: Conv2dConfig::new([c, c4], [2, 2])
                .with_stride([2, 2])
                .init(device).into(),
            _conv_u: conv(c4 + flow, flow, 1),
            _conv_r: conv(c4 + flow, flow, 1),
            _conv_z: conv(c4 + flow, flow, 1),
            _conv_hm: conv(c4, NEIGHBOURS, 1),
            _conv_dec: conv(c4 * NEIGHBOURS, c4, 1),
            _deconv_dec: ConvTranspose2dConfig::new([c4, c], [4, 4])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .init(device),
            _conv_g: conv(2 * c, c, 1),
        }
    }
}

#[derive(Clone, Debug)]
pub struct MotionRnnState {
    pub mim: MimState,
    /// Transient flow F and trend D, `[B, 2K, H/2, W/2]`.
    pub flow: Tensor<4>,
    pub trend: Tensor<4>,
}

impl MotionRnnCell {
    /// The MotionGRU on `h`; returns (output, F', D').
    fn motion_gru(
        &self,
        h: Tensor<4>,
        flow: Tensor<4>,
        trend: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
        let e = self._conv_enc.forward(h.clone());
        let [b, c4, h2, w2] = e.dims();
        let u = sigmoid(
            self._conv_u
                .forward_cat(vec![e.clone(), flow.clone()]),
        );
        let r = sigmoid(
            self._conv_r
                .forward_cat(vec![e.clone(), flow.clone()]),
        );
        let z = tanh(self._conv_z.forward_cat(vec![e.clone(), r * flow.clone()]));
        let transient = u.clone() * z + (u.neg() + 1.0) * flow.clone();
        let trend = trend.clone() + (flow - trend).mul_scalar(TREND_MOMENTUM);
        let flow = transient + trend.clone();
        let mask = sigmoid(self._conv_hm.forward(e.clone()));
        // Row-major reinterpretation, as the reference's .view(): mixes samples when B > 1.
        let offsets = flow.clone().reshape([NEIGHBOURS, b, 2, h2, w2]);
        let warped: Vec<Tensor<4>> = (0..NEIGHBOURS)
            .map(|j| {
                let o = offsets.clone().narrow(0, j, 1);
                let fx = o.clone().narrow(2, 0, 1).reshape([b, h2, w2]);
                let fy = o.narrow(2, 1, 1).reshape([b, h2, w2]);
                warp(e.clone(), fx, fy)
            })
            .collect();
        let weighted =
            Tensor::stack::<5>(warped, 4) * mask.permute([0, 2, 3, 1]).unsqueeze_dim::<5>(1);
        // Row-major reshape of (B, C4, h, w, K) to (B, C4*K, h, w), as the reference does.
        let q = weighted.reshape([b, c4 * NEIGHBOURS, h2, w2]);
        let decoded = self._deconv_dec.forward(self._conv_dec.forward(q));
        let g = sigmoid(
            self._conv_g
                .forward_cat(vec![decoded.clone(), h.clone()]),
        );
        let out = g.clone() * h + (g.neg() + 1.0) * decoded;
        (out, flow, trend)
    }
}

impl Cell for MotionRnnCell {
    type State = MotionRnnState;
    const USES_MEMORY: bool = true;
    const PREVIOUS: Previous = Previous::LowerOutput;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        MotionRnnCellConfig::new(config.hidden)
            .with_kernel(config.kernel)
            .init(device)
    }

    fn step(&self, input: CellInput, state: Option<MotionRnnState>) -> CellOutput<MotionRnnState> {
        let x = input.x.clone();
        let top = input.layer + 1 == input.layers;
        let (mim_state, flow, trend) = match state {
            Some(s) => (Some(s.mim), s.flow, s.trend),
            None => {
                let [b, _, h, w] = x.dims();
                let zeros = Tensor::<4>::zeros([b, 2 * NEIGHBOURS, h / 2, w / 2], &x.device());
                (None, zeros.clone(), zeros)
            }
        };
        let step = mim_convs!(self).step(input, mim_state);
        let h = step.state.h.clone();
        let (moved, flow, trend) = self.motion_gru(h.clone(), flow, trend);
        // the motion highway; the top layer keeps the MIM output
        let out = if top {
            h
        } else {
            moved + (step.output_gate.neg() + 1.0) * x
        };
        let mut mim = step.state;
        mim.h = out.clone();
        CellOutput {
            h: out,
            state: MotionRnnState { mim, flow, trend },
            memory: Some(step.memory),
            increments: None,
        }
    }
}

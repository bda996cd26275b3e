//! CMS-LSTM (`models/cms_lstm.py`): a context-embedding block before a ConvLSTM and a
//! multi-scale self-attention memory block (SE block) after it. The memory carried in
//! time is the SE block's, and its fusion convolution runs on the h|c side-by-side map,
//! mixing across the seam, as in the reference.

// Field names are the authors' state-dict names (convQ, SEBlock, conv33_X, LA).
#![allow(non_snake_case)]

use burn::config::Config;
use burn::module::Module;
use crate::layers::{Conv2d, conv_sum};
use crate::layers::{attention, sigmoid, tanh};
use burn::tensor::{Device, Tensor};

use super::convlstm::ConvLstmState;
use super::{Cell, CellInput, CellOutput, split_gates};
use crate::ModelConfig;
use crate::layers::same_conv;

/// `cfg.ce_iters`: rounds of the context-embedding block.
const CE_ITERATIONS: usize = 5;
/// Block grids of the SE block's attention stages.
const SCALES: [usize; 3] = [1, 2, 4];

#[derive(Config, Debug)]
pub struct CmsLstmCellConfig {
    pub hidden: usize,
    #[config(default = 3)]
    pub kernel: usize,
}

/// Self-attention inside each block of an `s x s` grid, with a residual connection.
#[derive(Module, Debug)]
pub struct AttentionStage {
    pub f_key: Conv2d,
    pub f_query: Conv2d,
    pub f_value: Conv2d,
    scale: usize,
}

#[derive(Module, Debug)]
pub struct SeBlock {
    pub stages: Vec<AttentionStage>,
    pub conv_bn: Conv2d,
    pub w_z: Conv2d,
    pub w_h2h: Conv2d,
    pub w_z2h: Conv2d,
}

#[derive(Module, Debug)]
pub struct CmsLstmCell {
    pub convQ: Conv2d,
    pub convR: Conv2d,
    pub _conv_x2h: Conv2d,
    pub _conv_h2h: Conv2d,
    pub SEBlock: SeBlock,
}

impl CmsLstmCellConfig {
    pub fn init(&self, device: &Device) -> CmsLstmCell {
        let (c, k) = (self.hidden, self.kernel);
        let conv = |cin, cout, k| same_conv(cin, cout, k, device);
        CmsLstmCell {
            convQ: conv(c, c, k),
            convR: conv(c, c, k),
            _conv_x2h: conv(c, 4 * c, k),
            _conv_h2h: conv(c, 4 * c, k),
            SEBlock: SeBlock {
                stages: SCALES
                    .iter()
                    .map(|&scale| AttentionStage {
                        f_key: conv(c, c, 1),
                        f_query: conv(c, c, 1),
                        f_value: conv(c, c, 1),
                        scale,
                    })
                    .collect(),
                conv_bn: conv(3 * c, c, k),
                w_z: conv(2 * c, c, 1),
                w_h2h: conv(c, 3 * c, k),
                w_z2h: conv(c, 3 * c, k),
            },
        }
    }
}

impl AttentionStage {
    /// `wide` is `[B, C, H, 2W]` (h' left, c' right); tokens of a block are its pixels of both halves.
    ///
    /// The reference computes `softmax(q^T k)` and `v A^T`; here the context is computed
    /// transposed, `A v^T`, from token matrices laid out row-major, so that no matrix product
    /// reads a transposed view (Mesa's lavapipe crashes compiling CubeCL's matmul for a
    /// column-major left operand). The products sum the same terms.
    fn forward(&self, wide: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w2] = wide.dims();
        let (w, s) = (w2 / 2, self.scale);
        let (bh, bw) = (h / s, w / s);
        // [B s s, C, N] (channels by token) or, `by_token`, [B s s, N, C]
        let tokens = |t: Tensor<4>, by_token: bool| {
            let half = |t: Tensor<4>| {
                let blocks = t.reshape([b, c, s, bh, s, bw]);
                if by_token {
                    blocks.permute([0, 2, 4, 3, 5, 1]).reshape([b * s * s, bh * bw, c])
                } else {
                    blocks.permute([0, 2, 4, 1, 3, 5]).reshape([b * s * s, c, bh * bw])
                }
            };
            let axis = if by_token { 1 } else { 2 };
            Tensor::cat(
                vec![half(t.clone().narrow(3, 0, w)), half(t.narrow(3, w, w))],
                axis,
            )
        };
        let q = tokens(self.f_query.forward(wide.clone()), true);
        let k = tokens(self.f_key.forward(wide.clone()), false);
        let v = tokens(self.f_value.forward(wide.clone()), true);
        // softmax(q k) v: [B s s, N, N] attention (rows query, softmax over keys), then
        // [B s s, N, C] context
        let context = attention(q, k, v);
        let image = |t: Tensor<3>| {
            t.reshape([b, s, s, bh, bw, c])
                .permute([0, 5, 1, 3, 2, 4])
                .reshape([b, c, h, w])
        };
        let n = bh * bw;
        let left = image(context.clone().narrow(1, 0, n));
        let right = image(context.narrow(1, n, n));
        Tensor::cat(vec![left, right], 3) + wide
    }
}

impl SeBlock {
    /// Returns (h_next, m_next) from the ConvLSTM's h' and c'.
    fn forward(&self, h: Tensor<4>, c: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let w = h.dims()[3];
        let wide = Tensor::cat(vec![h.clone(), c.clone()], 3);
        let scales: Vec<Tensor<4>> = self
            .stages
            .iter()
            .map(|st| st.forward(wide.clone()))
            .collect();
        let fused = self.conv_bn.forward(Tensor::cat(scales, 1));
        let z = self.w_z.forward(Tensor::cat(
            vec![fused.clone().narrow(3, 0, w), fused.narrow(3, w, w)],
            1,
        ));
        let [i, g, o] = split_gates(conv_sum(&self.w_h2h, h, &self.w_z2h, z));
        let i = sigmoid(i);
        let m = (i.clone().neg() + 1.0) * c + i * tanh(g);
        (sigmoid(o) * m.clone(), m)
    }
}

impl Cell for CmsLstmCell {
    type State = ConvLstmState;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        CmsLstmCellConfig::new(config.hidden)
            .with_kernel(config.kernel)
            .init(device)
    }

    fn step(&self, input: CellInput, state: Option<ConvLstmState>) -> CellOutput<ConvLstmState> {
        let mut x = input.x;
        let ConvLstmState { mut h, c } = state.unwrap_or_else(|| ConvLstmState::zeros(&x));
        for i in 1..=CE_ITERATIONS {
            if i % 2 == 1 {
                x = sigmoid(self.convQ.forward(h.clone())).mul_scalar(2.0) * x;
            } else {
                h = sigmoid(self.convR.forward(x.clone())).mul_scalar(2.0) * h;
            }
        }
        let lstm = ConvLstmState { h, c }.update(&self._conv_x2h, &self._conv_h2h, x);
        let (h, m) = self.SEBlock.forward(lstm.h, lstm.c);
        CellOutput::plain(h.clone(), ConvLstmState { h, c: m })
    }
}

//! The blocks of the official configuration: feed-forward, stacked axial self-attention,
//! cross-attention, patch merging.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use crate::ops::gelu;

use super::attention::{AxialSelfAttention, TemporalCrossAttention};

/// `x + Drop(W2 Drop(GELU(W1 LN(x))))`, hidden 4 x dim (pre-norm, residual inside).
#[derive(Module, Debug)]
pub struct PositionwiseFfn {
    pub layer_norm: LayerNorm,
    pub ffn_1: Linear,
    pub ffn_2: Linear,
    pub dropout: Dropout,
}

impl PositionwiseFfn {
    pub fn new(dim: usize, dropout: f64, device: &Device) -> Self {
        Self {
            layer_norm: LayerNormConfig::new(dim).init(device),
            ffn_1: LinearConfig::new(dim, 4 * dim).init(device),
            ffn_2: LinearConfig::new(4 * dim, dim).init(device),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let h = self
            .dropout
            .forward(gelu(self.ffn_1.forward(self.layer_norm.forward(x.clone()))));
        x + self.dropout.forward(self.ffn_2.forward(h))
    }
}

/// Three axial attentions (T, then H, then W), each followed by its own FFN.
#[derive(Module, Debug)]
pub struct SelfAttentionBlock {
    pub attn_l: Vec<AxialSelfAttention>,
    pub ffn_l: Vec<PositionwiseFfn>,
}

impl SelfAttentionBlock {
    /// For feature maps of shape `[B, T, H, W, dim]`.
    pub fn new(dim: usize, shape: [usize; 3], heads: usize, dropout: f64, device: &Device) -> Self {
        Self {
            attn_l: (0..3)
                .map(|a| AxialSelfAttention::new(dim, a + 1, shape[a], heads, dropout, device))
                .collect(),
            ffn_l: (0..3)
                .map(|_| PositionwiseFfn::new(dim, dropout, device))
                .collect(),
        }
    }

    pub fn forward(&self, mut x: Tensor<5>) -> Tensor<5> {
        for (attn, ffn) in self.attn_l.iter().zip(&self.ffn_l) {
            x = x.clone() + attn.forward(x);
            x = ffn.forward(x);
        }
        x
    }
}

/// One temporal cross-attention to the encoder memory and its FFN (the official
/// `StackCuboidCrossAttentionBlock` with one pattern: lists of one, `attn_l.0`, `ffn_l.0`).
#[derive(Module, Debug)]
pub struct CrossAttentionBlock {
    pub attn_l: Vec<TemporalCrossAttention>,
    pub ffn_l: Vec<PositionwiseFfn>,
}

impl CrossAttentionBlock {
    pub fn new(dim: usize, max_time: usize, heads: usize, dropout: f64, device: &Device) -> Self {
        Self {
            attn_l: vec![TemporalCrossAttention::new(dim, max_time, heads, dropout, device)],
            ffn_l: vec![PositionwiseFfn::new(dim, dropout, device)],
        }
    }

    pub fn forward(&self, mut x: Tensor<5>, memory: Tensor<5>) -> Tensor<5> {
        for (attn, ffn) in self.attn_l.iter().zip(&self.ffn_l) {
            x = x.clone() + attn.forward(x, memory.clone());
            x = ffn.forward(x);
        }
        x
    }
}

/// `PatchMerging3D(1, 2, 2)`: each 2x2 patch into the channels, LayerNorm, linear reduction.
#[derive(Module, Debug)]
pub struct PatchMerging {
    pub norm: LayerNorm,
    pub reduction: Linear,
}

impl PatchMerging {
    pub fn new(dim: usize, out_dim: usize, device: &Device) -> Self {
        Self {
            norm: LayerNormConfig::new(4 * dim).init(device),
            reduction: LinearConfig::new(4 * dim, out_dim)
                .with_bias(false)
                .init(device),
        }
    }

    /// `[B, T, H, W, C]` to `[B, T, H/2, W/2, out]`; channels ordered (dh, dw, c) as in the reference.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let [b, t, h, w, c] = x.dims();
        let merged = x
            .reshape([b * t, h / 2, 2, w / 2, 2 * c])
            .permute([0, 1, 3, 2, 4])
            .reshape([b, t, h / 2, w / 2, 4 * c]);
        self.reduction.forward(self.norm.forward(merged))
    }
}

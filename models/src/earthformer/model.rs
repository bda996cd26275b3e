use burn::module::Module;
use crate::layers::Conv2d;
use burn::nn::conv::Conv2dConfig;
use burn::nn::{
    Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig, Initializer, Linear, LinearConfig,
    PaddingConfig2d,
};
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Int, Tensor};

use super::blocks::{CrossAttentionBlock, PatchMerging, SelfAttentionBlock};
use crate::model::{ModelOutput, Predictor};
use crate::{Feeding, ModelConfig, ModelError};

/// The knobs of the official Moving MNIST configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct EarthformerConfig {
    pub base_units: usize,
    /// Blocks per level (encoder and decoder).
    pub depth: [usize; 2],
    pub heads: usize,
    pub dropout: f64,
    /// GroupNorm groups of the convolutional stem and head.
    pub norm_groups: usize,
    pub leak: f64,
}

impl EarthformerConfig {
    pub fn moving_mnist() -> Self {
        Self {
            base_units: 64,
            depth: [4, 4],
            heads: 4,
            dropout: 0.1,
            norm_groups: 16,
            leak: 0.1,
        }
    }
}

/// Conv 3x3 -> GroupNorm -> LeakyReLU on `[N, C, H, W]`.
#[derive(Module, Debug)]
pub struct ConvNormAct {
    pub conv: Conv2d,
    pub norm: GroupNorm,
    leak: f64,
}

impl ConvNormAct {
    fn new(cin: usize, cout: usize, cfg: &EarthformerConfig, device: &Device) -> Self {
        Self {
            conv: conv3x3(cin, cout, device),
            norm: GroupNormConfig::new(cfg.norm_groups, cout).init(device),
            leak: cfg.leak,
        }
    }
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        leaky_relu(self.norm.forward(self.conv.forward(x)), self.leak)
    }
}

fn conv3x3(cin: usize, cout: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([cin, cout], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device).into()
}

/// Learned `t + hw` position embedding.
#[derive(Module, Debug)]
pub struct PosEmbed {
    pub t_embed: Embedding,
    pub hw_embed: Embedding,
}

impl PosEmbed {
    fn new(t: usize, hw: usize, dim: usize, device: &Device) -> Self {
        let init = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        Self {
            t_embed: EmbeddingConfig::new(t, dim)
                .with_initializer(init.clone())
                .init(device),
            hw_embed: EmbeddingConfig::new(hw, dim)
                .with_initializer(init)
                .init(device),
        }
    }

    /// The embedding `[1, T, H, W, C]` for a `T x H x W` grid.
    fn grid(&self, t: usize, h: usize, w: usize, device: &Device) -> Tensor<5> {
        let ts = Tensor::<1, Int>::arange(0..t as i64, device).reshape([1, t]);
        let hws = Tensor::<1, Int>::arange(0..(h * w) as i64, device).reshape([1, h * w]);
        let et: Tensor<3> = self.t_embed.forward(ts); // [1, T, C]
        let ehw: Tensor<3> = self.hw_embed.forward(hws); // [1, HW, C]
        let c = et.dims()[2];
        et.reshape([1, t, 1, 1, c]) + ehw.reshape([1, 1, h, w, c])
    }
}

/// Nearest upsampling of every frame to `size`, then a 3x3 convolution.
#[derive(Module, Debug)]
pub struct Upsample {
    pub conv: Conv2d,
}

impl Upsample {
    fn forward(&self, x: Tensor<5>, size: [usize; 2]) -> Tensor<5> {
        let [b, t, h, w, c] = x.dims();
        let frames = x.permute([0, 1, 4, 2, 3]).reshape([b * t, c, h, w]);
        let up = interpolate(
            frames,
            InterpolateOptions::new(InterpolateMode::Nearest).with_output_size(size),
        );
        let y = self.conv.forward(up);
        let co = y.dims()[1];
        y.reshape([b, t, co, size[0], size[1]])
            .permute([0, 1, 3, 4, 2])
    }
}

#[derive(Module, Debug)]
pub struct Earthformer {
    pub initial_encoder: Vec<ConvNormAct>,
    pub initial_merge: PatchMerging,
    pub enc_pos_embed: PosEmbed,
    pub encoder: Vec<Vec<SelfAttentionBlock>>,
    pub down: PatchMerging,
    pub z_proj: Linear,
    pub dec_pos_embed: PosEmbed,
    /// Per level, bottom (full latent resolution) first.
    pub dec_self: Vec<Vec<SelfAttentionBlock>>,
    pub dec_cross: Vec<Vec<CrossAttentionBlock>>,
    pub up: Upsample,
    pub final_up: Upsample,
    pub final_conv: ConvNormAct,
    pub dec_final_proj: Linear,
    in_len: usize,
    out_len: usize,
}

impl Earthformer {
    pub fn new(
        model: &str,
        config: &ModelConfig,
        cfg: &EarthformerConfig,
        device: &Device,
    ) -> Result<Self, ModelError> {
        for (field, size) in [("height", config.height), ("width", config.width)] {
            if size % 4 != 0 {
                return Err(ModelError::InvalidConfig {
                    model: model.to_string(),
                    field,
                    problem: format!("must be a multiple of 4 (two patch merges), got {size}"),
                });
            }
        }
        let (c0, c1) = (cfg.base_units, 2 * cfg.base_units);
        let (t_in, t_out) = (config.in_len, config.out_len);
        let (h1, w1) = (config.height / 2, config.width / 2);
        let (h2, w2) = (h1 / 2, w1 / 2);
        let (heads, drop) = (cfg.heads, cfg.dropout);
        let max_time = t_in + t_out;
        let level =
            |dim: usize, t: usize, h: usize, w: usize, n: usize| -> Vec<SelfAttentionBlock> {
                (0..n)
                    .map(|_| SelfAttentionBlock::new(dim, [t, h, w], heads, drop, device))
                    .collect()
            };
        let cross = |dim: usize, n: usize| -> Vec<CrossAttentionBlock> {
            (0..n)
                .map(|_| CrossAttentionBlock::new(dim, max_time, heads, drop, device))
                .collect()
        };
        Ok(Self {
            initial_encoder: vec![
                ConvNormAct::new(config.image_channels, c0, cfg, device),
                ConvNormAct::new(c0, c0, cfg, device),
            ],
            initial_merge: PatchMerging::new(c0, c0, device),
            enc_pos_embed: PosEmbed::new(t_in, h1 * w1, c0, device),
            encoder: vec![
                level(c0, t_in, h1, w1, cfg.depth[0]),
                level(c1, t_in, h2, w2, cfg.depth[1]),
            ],
            down: PatchMerging::new(c0, c1, device),
            z_proj: LinearConfig::new(c1, c1).init(device),
            dec_pos_embed: PosEmbed::new(t_out, h2 * w2, c1, device),
            // The top level has no first self-attention (dec_use_first_self_attn = false).
            dec_self: vec![
                level(c0, t_out, h1, w1, cfg.depth[0]),
                level(c1, t_out, h2, w2, cfg.depth[1] - 1),
            ],
            dec_cross: vec![cross(c0, cfg.depth[0]), cross(c1, cfg.depth[1])],
            up: Upsample {
                conv: conv3x3(c1, c0, device),
            },
            final_up: Upsample {
                conv: conv3x3(c0, c0, device),
            },
            final_conv: ConvNormAct::new(c0, c0, cfg, device),
            dec_final_proj: LinearConfig::new(c0, config.image_channels).init(device),
            in_len: t_in,
            out_len: t_out,
        })
    }

    /// `[B, T_in, C, H, W]` to `[B, T_out, C, H, W]`.
    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let [b, t, c, h, w] = x.dims();
        let device = x.device();
        let mut frames = x.reshape([b * t, c, h, w]);
        for layer in &self.initial_encoder {
            frames = layer.forward(frames);
        }
        let c0 = frames.dims()[1];
        let x = frames.reshape([b, t, c0, h, w]).permute([0, 1, 3, 4, 2]);
        let x = self.initial_merge.forward(x);
        let [_, _, h1, w1, _] = x.dims();
        let mut x = x + self.enc_pos_embed.grid(t, h1, w1, &device);
        for block in &self.encoder[0] {
            x = block.forward(x);
        }
        let mem0 = x.clone();
        let mut x = self.down.forward(x);
        for block in &self.encoder[1] {
            x = block.forward(x);
        }
        let mem1 = x;
        let [_, _, h2, w2, c1] = mem1.dims();

        // the decoder starts from the position embedding alone: the input enters by cross-attention
        let z0 = self
            .z_proj
            .forward(self.dec_pos_embed.grid(self.out_len, h2, w2, &device));
        let mut z = z0.expand([b, self.out_len, h2, w2, c1]);
        z = self.dec_cross[1][0].forward(z, mem1.clone());
        for (s, x) in self.dec_self[1].iter().zip(&self.dec_cross[1][1..]) {
            z = s.forward(z);
            z = x.forward(z, mem1.clone());
        }
        z = self.up.forward(z, [h1, w1]);
        for (s, x) in self.dec_self[0].iter().zip(&self.dec_cross[0]) {
            z = s.forward(z);
            z = x.forward(z, mem0.clone());
        }
        let z = self.final_up.forward(z, [h, w]);
        let frames = z
            .permute([0, 1, 4, 2, 3])
            .reshape([b * self.out_len, c0, h, w]);
        let frames = self.final_conv.forward(frames);
        let out = self.dec_final_proj.forward(
            frames
                .reshape([b, self.out_len, c0, h, w])
                .permute([0, 1, 3, 4, 2]),
        );
        out.permute([0, 1, 4, 2, 3])
    }
}

impl Predictor for Earthformer {
    /// Returns the `out_len` future frames from the first `in_len`.
    fn predict(&self, frames: Tensor<5>, _feeding: &Feeding) -> ModelOutput {
        let inputs = frames.narrow(1, 0, self.in_len);
        ModelOutput {
            predictions: self.forward(inputs),
            aux_loss: None,
        }
    }
}

use burn::module::Module;
use crate::layers::Conv2d;
use burn::nn::conv::Conv2dConfig;
use burn::nn::{
    Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig, Initializer, LeakyRelu, LeakyReluConfig, Linear,
    LinearConfig, PaddingConfig2d,
};
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
    /// Self-attention blocks per encoder level.
    pub enc_depth: [usize; 2],
    /// Cross-attention blocks per decoder level (each level but the top one also has as
    /// many self-attention blocks; the top one has one fewer).
    pub dec_depth: [usize; 2],
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
            enc_depth: [4, 4],
            dec_depth: [4, 4],
            heads: 4,
            dropout: 0.1,
            norm_groups: 16,
            leak: 0.1,
        }
    }
}

/// One layer of the official code's `nn.Sequential` convolution blocks, so that parameters
/// sit at its indices (`conv_block.0` a convolution, `.1` its GroupNorm, `.2` the LeakyReLU;
/// enum variant names are not part of the PyTorch path).
#[derive(Module, Debug)]
pub enum SequentialLayer {
    Conv(Conv2d),
    GroupNorm(GroupNorm),
    LeakyRelu(LeakyRelu),
}

impl SequentialLayer {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            SequentialLayer::Conv(c) => c.forward(x),
            SequentialLayer::GroupNorm(n) => n.forward(x),
            SequentialLayer::LeakyRelu(a) => a.forward(x),
        }
    }
}

/// Conv 3x3 -> GroupNorm -> LeakyReLU, three layers of a `nn.Sequential`.
fn conv_norm_act(cin: usize, cout: usize, cfg: &EarthformerConfig, device: &Device) -> [SequentialLayer; 3] {
    [
        SequentialLayer::Conv(conv3x3(cin, cout, device)),
        SequentialLayer::GroupNorm(GroupNormConfig::new(cfg.norm_groups, cout).init(device)),
        SequentialLayer::LeakyRelu(LeakyReluConfig::new().with_negative_slope(cfg.leak).init()),
    ]
}

/// `[N, C, H, W]` through the layers in turn.
fn sequential(layers: &[SequentialLayer], x: Tensor<4>) -> Tensor<4> {
    layers.iter().fold(x, |x, layer| layer.forward(x))
}

fn conv3x3(cin: usize, cout: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([cin, cout], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device).into()
}

/// Learned `t + hw` position embedding, under the official field names (the derive's code
/// for them is what needs the lint off).
#[allow(non_snake_case)]
mod pos_embed_fields {
    use super::*;

    #[derive(Module, Debug)]
    pub struct PosEmbed {
        pub T_embed: Embedding,
        pub HW_embed: Embedding,
    }
}
pub use pos_embed_fields::PosEmbed;


impl PosEmbed {
    fn new(t: usize, hw: usize, dim: usize, device: &Device) -> Self {
        let init = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        Self {
            T_embed: EmbeddingConfig::new(t, dim).with_initializer(init.clone()).init(device),
            HW_embed: EmbeddingConfig::new(hw, dim).with_initializer(init).init(device),
        }
    }

    /// The embedding `[1, T, H, W, C]` for a `T x H x W` grid.
    fn grid(&self, t: usize, h: usize, w: usize, device: &Device) -> Tensor<5> {
        let ts = Tensor::<1, Int>::arange(0..t as i64, device).reshape([1, t]);
        let hws = Tensor::<1, Int>::arange(0..(h * w) as i64, device).reshape([1, h * w]);
        let et: Tensor<3> = self.T_embed.forward(ts); // [1, T, C]
        let ehw: Tensor<3> = self.HW_embed.forward(hws); // [1, HW, C]
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

/// The convolutional stem: two conv blocks at full resolution, then a patch merge.
#[derive(Module, Debug)]
pub struct InitialEncoder {
    pub conv_block: Vec<SequentialLayer>,
    pub patch_merge: PatchMerging,
}

/// The head: upsampling to full resolution, then a conv block.
#[derive(Module, Debug)]
pub struct FinalDecoder {
    pub upsample: Upsample,
    pub conv_block: Vec<SequentialLayer>,
}

#[derive(Module, Debug)]
pub struct Encoder {
    /// Self-attention blocks per level.
    pub blocks: Vec<Vec<SelfAttentionBlock>>,
    pub down_layers: Vec<PatchMerging>,
}

#[derive(Module, Debug)]
pub struct Decoder {
    /// Per level, bottom (full latent resolution) first.
    pub self_blocks: Vec<Vec<SelfAttentionBlock>>,
    pub cross_blocks: Vec<Vec<CrossAttentionBlock>>,
    pub upsample_layers: Vec<Upsample>,
}

/// The module tree and field names are the official `CuboidTransformerModel`'s, so its
/// state dict loads by name.
#[derive(Module, Debug)]
pub struct Earthformer {
    pub initial_encoder: InitialEncoder,
    pub enc_pos_embed: PosEmbed,
    pub encoder: Encoder,
    pub z_proj: Linear,
    pub dec_pos_embed: PosEmbed,
    pub decoder: Decoder,
    pub final_decoder: FinalDecoder,
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
        let mut stem: Vec<SequentialLayer> = conv_norm_act(config.image_channels, c0, cfg, device).into();
        stem.extend(conv_norm_act(c0, c0, cfg, device));
        Ok(Self {
            initial_encoder: InitialEncoder { conv_block: stem, patch_merge: PatchMerging::new(c0, c0, device) },
            enc_pos_embed: PosEmbed::new(t_in, h1 * w1, c0, device),
            encoder: Encoder {
                blocks: vec![level(c0, t_in, h1, w1, cfg.enc_depth[0]), level(c1, t_in, h2, w2, cfg.enc_depth[1])],
                down_layers: vec![PatchMerging::new(c0, c1, device)],
            },
            z_proj: LinearConfig::new(c1, c1).init(device),
            dec_pos_embed: PosEmbed::new(t_out, h2 * w2, c1, device),
            decoder: Decoder {
                // The top level has no first self-attention (dec_use_first_self_attn = false).
                self_blocks: vec![level(c0, t_out, h1, w1, cfg.dec_depth[0]), level(c1, t_out, h2, w2, cfg.dec_depth[1] - 1)],
                cross_blocks: vec![cross(c0, cfg.dec_depth[0]), cross(c1, cfg.dec_depth[1])],
                upsample_layers: vec![Upsample { conv: conv3x3(c1, c0, device) }],
            },
            final_decoder: FinalDecoder {
                upsample: Upsample { conv: conv3x3(c0, c0, device) },
                conv_block: conv_norm_act(c0, c0, cfg, device).into(),
            },
            dec_final_proj: LinearConfig::new(c0, config.image_channels).init(device),
            in_len: t_in,
            out_len: t_out,
        })
    }

    /// `[B, T_in, C, H, W]` to `[B, T_out, C, H, W]`.
    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let [b, t, c, h, w] = x.dims();
        let frames = sequential(&self.initial_encoder.conv_block, x.reshape([b * t, c, h, w]));
        let c0 = frames.dims()[1];
        let x = frames.reshape([b, t, c0, h, w]).permute([0, 1, 3, 4, 2]);
        let x = self.initial_encoder.patch_merge.forward(x);
        let (mem0, mem1) = self.encode(x);
        let [_, _, h1, w1, _] = mem0.dims();
        let z = self.decode(mem0, mem1);
        let z = self.final_decoder.upsample.forward(z, [h, w]);
        let frames = z.permute([0, 1, 4, 2, 3]).reshape([b * self.out_len, c0, h, w]);
        debug_assert_eq!([h1 * 2, w1 * 2], [h, w]);
        let frames = sequential(&self.final_decoder.conv_block, frames);
        let out = self.dec_final_proj.forward(frames.reshape([b, self.out_len, c0, h, w]).permute([0, 1, 3, 4, 2]));
        out.permute([0, 1, 4, 2, 3])
    }

    /// The two encoder levels: their outputs, the decoder's memories.
    fn encode(&self, x: Tensor<5>) -> (Tensor<5>, Tensor<5>) {
        let [_, t, h1, w1, _] = x.dims();
        let embedding = self.enc_pos_embed.grid(t, h1, w1, &x.device());
        let mut x = x + embedding;
        for block in &self.encoder.blocks[0] {
            x = block.forward(x);
        }
        let mem0 = x.clone();
        let mut x = self.encoder.down_layers[0].forward(x);
        for block in &self.encoder.blocks[1] {
            x = block.forward(x);
        }
        (mem0, x)
    }

    /// The decoder: from the position embedding alone (the input enters by cross-attention
    /// to the memories), top level first, then upsampling and the bottom level.
    fn decode(&self, mem0: Tensor<5>, mem1: Tensor<5>) -> Tensor<5> {
        let [b, _, h2, w2, c1] = mem1.dims();
        let [_, _, h1, w1, _] = mem0.dims();
        let (self_blocks, cross_blocks) = (&self.decoder.self_blocks, &self.decoder.cross_blocks);
        let z0 = self.z_proj.forward(self.dec_pos_embed.grid(self.out_len, h2, w2, &mem1.device()));
        let mut z = cross_blocks[1][0].forward(z0.expand([b, self.out_len, h2, w2, c1]), mem1.clone());
        for (s, x) in self_blocks[1].iter().zip(&cross_blocks[1][1..]) {
            z = x.forward(s.forward(z), mem1.clone());
        }
        z = self.decoder.upsample_layers[0].forward(z, [h1, w1]);
        for (s, x) in self_blocks[0].iter().zip(&cross_blocks[0]) {
            z = x.forward(s.forward(z), mem0.clone());
        }
        z
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

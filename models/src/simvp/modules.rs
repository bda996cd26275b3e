use burn::module::Module;
use crate::layers::Conv2d;
use burn::nn::conv::{Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, PaddingConfig2d};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor};

use super::SimVpConfig;
use crate::model::{ModelOutput, Predictor};
use crate::{Feeding, ModelConfig, ModelError};

const LEAK: f64 = 0.2;

/// A convolution (or, for stride 2 in the decoder, a transposed convolution) of the v1 code.
#[derive(Module, Debug)]
pub enum ConvLayer {
    Conv(Conv2d),
    Transposed(ConvTranspose2d),
}

/// `BasicConv2d`: conv -> GroupNorm -> LeakyReLU(0.2).
#[derive(Module, Debug)]
pub struct BasicConv2d {
    pub conv: ConvLayer,
    pub norm: GroupNorm,
}

impl BasicConv2d {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = match &self.conv {
            ConvLayer::Conv(c) => c.forward(x),
            ConvLayer::Transposed(c) => c.forward(x),
        };
        leaky_relu(self.norm.forward(y), LEAK)
    }
}

/// `ConvSC`: a `BasicConv2d` of 3x3, stride 1 or 2 (transposed in the decoder's stride-2
/// layers), GroupNorm(2); the wrapper level is the official tree's (`enc.enc.0.conv.conv`).
#[derive(Module, Debug)]
pub struct ConvSc {
    pub conv: BasicConv2d,
}

impl ConvSc {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(x)
    }
}

fn conv_sc(cin: usize, cout: usize, stride: usize, transpose: bool, device: &Device) -> ConvSc {
    ConvSc { conv: basic_conv(cin, cout, stride, transpose, device) }
}

fn basic_conv(
    cin: usize,
    cout: usize,
    stride: usize,
    transpose: bool,
    device: &Device,
) -> BasicConv2d {
    let conv = if transpose && stride == 2 {
        ConvLayer::Transposed(
            ConvTranspose2dConfig::new([cin, cout], [3, 3])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .with_padding_out([1, 1])
                .init(device),
        )
    } else {
        ConvLayer::Conv(
            Conv2dConfig::new([cin, cout], [3, 3])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device).into(),
        )
    };
    BasicConv2d {
        conv,
        norm: GroupNormConfig::new(2, cout).init(device),
    }
}

/// `Inception`: a 1x1 reduction, then grouped k x k branches (each conv -> GN -> LeakyReLU), summed.
#[derive(Module, Debug)]
pub struct Inception {
    pub conv1: Conv2d,
    pub layers: Vec<BasicConv2d>,
}

impl Inception {
    fn new(cin: usize, chid: usize, cout: usize, cfg: &SimVpConfig, device: &Device) -> Self {
        // The reference falls back to one group when the channels do not divide.
        let groups = if chid % cfg.groups == 0 {
            cfg.groups
        } else {
            1
        };
        Self {
            conv1: Conv2dConfig::new([cin, chid], [1, 1]).init(device).into(),
            layers: cfg
                .kernels
                .iter()
                .map(|&k| BasicConv2d {
                    conv: ConvLayer::Conv(
                        Conv2dConfig::new([chid, cout], [k, k])
                            .with_groups(groups)
                            .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
                            .init(device).into(),
                    ),
                    norm: GroupNormConfig::new(groups, cout).init(device),
                })
                .collect(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.conv1.forward(x);
        self.layers
            .iter()
            .map(|l| l.forward(x.clone()))
            .reduce(|a, b| a + b)
            .expect("at least one kernel")
    }
}

#[derive(Module, Debug)]
pub struct Encoder {
    pub enc: Vec<ConvSc>,
}

#[derive(Module, Debug)]
pub struct Decoder {
    pub dec: Vec<ConvSc>,
    pub readout: Conv2d,
}

/// `Mid_Xnet`: the Inception U-Net over `(B, T * hid_S, H/4, W/4)`.
#[derive(Module, Debug)]
pub struct Translator {
    pub enc: Vec<Inception>,
    pub dec: Vec<Inception>,
}

#[derive(Module, Debug)]
pub struct SimVp {
    pub enc: Encoder,
    pub hid: Translator,
    pub dec: Decoder,
    frames_in: usize,
}

impl SimVp {
    pub fn new(
        model: &str,
        config: &ModelConfig,
        cfg: &SimVpConfig,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let invalid = |field, problem: String| ModelError::InvalidConfig {
            model: model.to_string(),
            field,
            problem,
        };
        if config.in_len != config.out_len {
            return Err(invalid(
                "out_len",
                format!(
                    "SimVP v1 predicts as many frames as it sees: in_len {} != out_len {}",
                    config.in_len, config.out_len
                ),
            ));
        }
        let reduction = 1 << (cfg.n_s / 2);
        for (field, size) in [("height", config.height), ("width", config.width)] {
            if size % reduction != 0 {
                return Err(invalid(
                    field,
                    format!(
                        "must be a multiple of {reduction} for {} stride-2 blocks, got {size}",
                        cfg.n_s / 2
                    ),
                ));
            }
        }
        let (c, hs, ht, t) = (config.image_channels, cfg.hid_s, cfg.hid_t, config.in_len);
        let strides = cfg.strides();
        let enc = Encoder {
            enc: strides
                .iter()
                .enumerate()
                .map(|(i, &s)| conv_sc(if i == 0 { c } else { hs }, hs, s, false, device))
                .collect(),
        };
        let reversed: Vec<usize> = strides.iter().rev().copied().collect();
        let last = reversed.len() - 1;
        let dec = Decoder {
            dec: reversed
                .iter()
                .enumerate()
                .map(|(i, &s)| conv_sc(if i == last { 2 * hs } else { hs }, hs, s, true, device))
                .collect(),
            readout: Conv2dConfig::new([hs, c], [1, 1]).init(device).into(),
        };
        let channels = t * hs;
        let mut hid_enc = vec![Inception::new(channels, ht / 2, ht, cfg, device)];
        hid_enc.extend((1..cfg.n_t).map(|_| Inception::new(ht, ht / 2, ht, cfg, device)));
        let mut hid_dec = vec![Inception::new(ht, ht / 2, ht, cfg, device)];
        hid_dec.extend((1..cfg.n_t - 1).map(|_| Inception::new(2 * ht, ht / 2, ht, cfg, device)));
        hid_dec.push(Inception::new(2 * ht, ht / 2, channels, cfg, device));
        Ok(Self {
            enc,
            hid: Translator {
                enc: hid_enc,
                dec: hid_dec,
            },
            dec,
            frames_in: t,
        })
    }

    /// `[B, T, C, H, W]` inputs to `[B, T, C, H, W]` future frames.
    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let [b, t, c, h, w] = x.dims();
        let mut z = x.reshape([b * t, c, h, w]);
        let mut skip = None;
        for block in &self.enc.enc {
            z = block.forward(z);
            skip.get_or_insert_with(|| z.clone());
        }
        let [_, hs, h4, w4] = z.dims();
        let mut y = z.reshape([b, t * hs, h4, w4]);
        let mut skips = Vec::new();
        let depth = self.hid.enc.len();
        for (i, layer) in self.hid.enc.iter().enumerate() {
            y = layer.forward(y);
            if i + 1 < depth {
                skips.push(y.clone());
            }
        }
        y = self.hid.dec[0].forward(y);
        for layer in &self.hid.dec[1..] {
            let s = skips.pop().expect("one skip per decoder layer");
            y = layer.forward(Tensor::cat(vec![y, s], 1));
        }
        let mut z = y.reshape([b * t, hs, h4, w4]);
        let last = self.dec.dec.len() - 1;
        for block in &self.dec.dec[..last] {
            z = block.forward(z);
        }
        let z =
            self.dec.dec[last].forward(Tensor::cat(vec![z, skip.expect("encoder has blocks")], 1));
        self.dec.readout.forward(z).reshape([b, t, c, h, w])
    }
}

impl Predictor for SimVp {
    /// Returns the `out_len` future frames (`[B, out_len, C, H, W]`): SimVP makes no
    /// one-step predictions of the input frames, and feeds nothing back.
    fn predict(&self, frames: Tensor<5>, _feeding: &Feeding) -> ModelOutput {
        let inputs = frames.narrow(1, 0, self.frames_in);
        ModelOutput {
            predictions: self.forward(inputs),
            aux_loss: None,
        }
    }
}

use serde::{Deserialize, Serialize};

use crate::{ModelConfig, ModelError};

/// Widths and depths of SimVP v1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimVpConfig {
    /// Channels of the spatial encoder and decoder.
    pub hid_s: usize,
    /// Channels of the translator.
    pub hid_t: usize,
    /// ConvSC blocks in the encoder (and decoder); strides 1, 2, 1, 2, ...
    pub n_s: usize,
    /// Inception modules per half of the translator U-Net.
    pub n_t: usize,
    /// Groups of the Inception convolutions and their GroupNorm.
    pub groups: usize,
    /// Kernels of the Inception branches (summed).
    pub kernels: Vec<usize>,
}

impl SimVpConfig {
    /// The configuration that reproduces the MS-LSTM paper's 43.2 M params and 68.5 G FLOPs
    /// (batch 4): hid_S 64, hid_T 512, N_S 4, N_T 3, groups 4.
    pub fn paper() -> Self {
        Self {
            hid_s: 64,
            hid_t: 512,
            n_s: 4,
            n_t: 3,
            groups: 4,
            kernels: vec![3, 5, 7, 11],
        }
    }

    /// OpenSTL's Moving MNIST values on the v1 code: hid_S 64, hid_T 512, N_S 4, N_T 8, groups 8.
    pub fn openstl() -> Self {
        Self {
            n_t: 8,
            groups: 8,
            ..Self::paper()
        }
    }

    /// Encoder strides `[1, 2, 1, 2, ...]`.
    pub fn strides(&self) -> Vec<usize> {
        (0..self.n_s)
            .map(|i| if i % 2 == 0 { 1 } else { 2 })
            .collect()
    }
}

/// The official constructor's keyword arguments (`SimVP(shape_in, hid_S, hid_T, N_S, N_T,
/// incep_ker, groups)`), as a golden file's `model_kwargs` records them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfficialKwargs {
    shape_in: [usize; 4],
    #[serde(rename = "hid_S")]
    hid_s: usize,
    #[serde(rename = "hid_T")]
    hid_t: usize,
    #[serde(rename = "N_S")]
    n_s: usize,
    #[serde(rename = "N_T")]
    n_t: usize,
    incep_ker: Vec<usize>,
    groups: usize,
}

impl SimVpConfig {
    /// The configuration of the official constructor's keyword arguments; `shape_in`
    /// (T, C, H, W) must agree with `frames`.
    pub fn from_official_kwargs(model: &str, kwargs: &serde_json::Value, frames: &ModelConfig) -> Result<Self, ModelError> {
        let invalid = |field: &'static str, problem: String| ModelError::InvalidConfig { model: model.to_string(), field, problem };
        let k: OfficialKwargs = serde_json::from_value(kwargs.clone())
            .map_err(|e| invalid("model_kwargs", format!("expected SimVP's constructor arguments: {e}")))?;
        let want = [frames.in_len, frames.image_channels, frames.height, frames.width];
        if k.shape_in != want {
            return Err(invalid("shape_in", format!("{:?} disagrees with the frames (T, C, H, W) {want:?}", k.shape_in)));
        }
        Ok(Self { hid_s: k.hid_s, hid_t: k.hid_t, n_s: k.n_s, n_t: k.n_t, groups: k.groups, kernels: k.incep_ker })
    }
}

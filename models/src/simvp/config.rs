use serde::{Deserialize, Serialize};

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

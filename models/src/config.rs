//! One configuration type for every model, so the registry can build any of them by name.

use serde::{Deserialize, Serialize};

/// Shape of the problem and width of the network, shared by all models.
///
/// Field names follow the authors' `config.py` where one exists (`hidden` is
/// `lstm_hidden_state`, `layers` is `LSTM_layers`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Channels of an input frame (1 for every dataset of the paper).
    pub image_channels: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// Frame width in pixels.
    pub width: usize,
    /// Hidden channels of every recurrent layer.
    pub hidden: usize,
    /// Number of recurrent layers (6 in the paper; the pyramid needs exactly 6).
    pub layers: usize,
    /// Kernel size of the recurrent convolutions (MK-LSTM ignores it: 3 and 5 are fixed).
    pub kernel: usize,
    /// Ground-truth frames fed before the model runs on its own predictions.
    pub in_len: usize,
    /// Frames predicted after the inputs.
    pub out_len: usize,
}

impl ModelConfig {
    /// The paper's Moving MNIST configuration: 64x64x1, 32 hidden, 6 layers, k=3, 10 in + 10 out.
    pub fn paper_mmnist() -> Self {
        Self {
            image_channels: 1,
            height: 64,
            width: 64,
            hidden: 32,
            layers: 6,
            kernel: 3,
            in_len: 10,
            out_len: 10,
        }
    }

    /// Frames in one sequence (`in_len + out_len`).
    pub fn seq_len(&self) -> usize {
        self.in_len + self.out_len
    }

    /// Recurrent steps per sequence: the model predicts frames 1..S-1.
    pub fn steps(&self) -> usize {
        self.seq_len().saturating_sub(1)
    }
}

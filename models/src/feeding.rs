//! What a recurrent model receives as input at each step: ground truth or its own prediction.

use burn::tensor::{Device, Tensor, TensorData};

use crate::{ModelConfig, ModelError};

/// The feeding schedule of one forward pass.
///
/// Step `t` (0-based) predicts frame `t + 1`. Masks are per sample: `true` feeds the
/// ground-truth frame, `false` the model's previous (unclipped) output.
#[derive(Clone, Debug, PartialEq)]
pub enum Feeding {
    /// Evaluation: ground truth for the first `in_len` steps, then the model's own output.
    Autoregressive,
    /// The authors' scheduled sampling: ground truth for `t < in_len`, then
    /// `masks[t - in_len][b]` for `t = in_len .. S-2` (`out_len - 1` masks of batch size).
    Scheduled { masks: Vec<Vec<bool>> },
    /// PredRNN-V2's reverse scheduled sampling: ground truth at `t = 0`, then
    /// `masks[t - 1][b]` for `t = 1 .. S-2` (`S - 2` masks of batch size).
    Reverse { masks: Vec<Vec<bool>> },
}

/// Where the input of one step comes from.
pub(crate) enum StepSource<'a> {
    GroundTruth,
    Prediction,
    PerSample(&'a [bool]),
}

impl Feeding {
    /// Checks mask counts and batch sizes against the configuration.
    pub fn validate(&self, config: &ModelConfig, batch: usize) -> Result<(), ModelError> {
        let (masks, expected, what) = match self {
            Feeding::Autoregressive => return Ok(()),
            Feeding::Scheduled { masks } => {
                (masks, config.out_len.saturating_sub(1), "out_len - 1")
            }
            Feeding::Reverse { masks } => (masks, config.seq_len().saturating_sub(2), "S - 2"),
        };
        if masks.len() != expected {
            return Err(ModelError::Input(format!(
                "feeding schedule has {} masks, expected {what} = {expected}",
                masks.len()
            )));
        }
        if let Some(bad) = masks.iter().position(|m| m.len() != batch) {
            return Err(ModelError::Input(format!(
                "feeding mask {bad} has {} entries, expected one per sample ({batch})",
                masks[bad].len()
            )));
        }
        Ok(())
    }

    pub(crate) fn source(&self, t: usize, in_len: usize) -> StepSource<'_> {
        let mask = match self {
            Feeding::Autoregressive => None,
            Feeding::Scheduled { masks } => {
                let late = usize::from(crate::faults::is_injected("scheduled-sampling-off-by-one"));
                t.checked_sub(in_len + late).map(|j| masks[j].as_slice())
            }
            Feeding::Reverse { masks } => t.checked_sub(1).map(|j| masks[j].as_slice()),
        };
        match (self, mask) {
            (Feeding::Autoregressive, _) if t < in_len => StepSource::GroundTruth,
            (Feeding::Autoregressive, _) => StepSource::Prediction,
            (_, None) => StepSource::GroundTruth,
            (_, Some(m)) if m.iter().all(|&b| b) => StepSource::GroundTruth,
            (_, Some(m)) if m.iter().all(|&b| !b) => StepSource::Prediction,
            (_, Some(m)) => StepSource::PerSample(m),
        }
    }
}

/// `mask * truth + (1 - mask) * prediction` with a per-sample 0/1 mask.
pub(crate) fn mix_per_sample(
    truth: Tensor<4>,
    prediction: Tensor<4>,
    mask: &[bool],
    device: &Device,
) -> Tensor<4> {
    let values: Vec<f32> = mask.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
    let m = Tensor::<4>::from_data(TensorData::new(values, [mask.len(), 1, 1, 1]), device);
    truth * m.clone() + prediction * (m.neg() + 1.0)
}

//! What a finished run's tested weights predict, for qualitative figures.

use std::path::Path;

use anyhow::Context;
use burn::tensor::{Device, Tensor, TensorData};
use vpbench_datasets::Sequences;
use vpbench_models::{Feeding, registry};

use crate::record::RunRecord;

/// The S-1 predicted frames (each `H x W`) of the run's final weights on clip `index`.
pub fn predict_clip(
    record: &RunRecord,
    run_dir: &Path,
    clips: &Sequences,
    index: usize,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let device = Device::flex();
    let mut model = registry::build(&record.model, &record.model_config, &device)?;
    model
        .load_weights(&run_dir.join("final.safetensors"))
        .with_context(|| format!("run {}: tested weights", record.run_id))?;
    let (values, shape) = clips.batch(&[index]);
    let frames = Tensor::<5>::from_data(TensorData::new(values, shape), &device);
    let out = model.forward(frames, &Feeding::Autoregressive)?;
    let pixels = out
        .predictions
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("prediction readback: {e:?}"))?;
    Ok(pixels
        .chunks(clips.frame_size())
        .map(<[f32]>::to_vec)
        .collect())
}

//! Stage 3: the test pass: the loss and every metric over the test clips, in evaluation
//! feeding (autoregressive), under both scoring conventions.

use std::time::Instant;

use anyhow::Context;
use burn::tensor::{Tensor, TensorData};
use vpbench_datasets::{Dataset, Sequences};
use vpbench_models::{Feeding, Model, ModelConfig};

use super::RunPlan;
use crate::experiment::{LossKind, Profile};
use crate::metrics::{Convention, MetricAccumulator};
use crate::recipe::{criterion, targets};
use crate::record::TestMetrics;
use crate::skill::SkillAccumulator;

/// What the test stage measured.
pub(super) struct Tested {
    pub metrics: TestMetrics,
    pub seconds: f64,
}

pub(super) fn test(plan: &RunPlan<'_>, model: &Model) -> anyhow::Result<Tested> {
    let start = Instant::now();
    let metrics = score_test_set(model, &plan.data.test, &plan.profile, plan.dataset)?;
    Ok(Tested { metrics, seconds: start.elapsed().as_secs_f64() })
}

/// The loss and every metric of `model` over `clips` at the profile's sizes, eval batch and
/// loss, in evaluation feeding; the skill scores where `dataset`'s pixels are rain.
pub fn score_test_set(model: &Model, clips: &Sequences, profile: &Profile, dataset: &dyn Dataset) -> anyhow::Result<TestMetrics> {
    let config = profile.model_config();
    let mut scorers = Scorers {
        authors: MetricAccumulator::new(Convention::Authors, config.out_len, config.seq_len()),
        common: MetricAccumulator::new(Convention::Common, config.out_len, config.seq_len()),
        skill: dataset.rain_relation().map(SkillAccumulator::new),
    };
    let loss = evaluate(model, clips, &config, profile.eval_batch, profile.loss, Some(&mut scorers))?;
    Ok(TestMetrics {
        loss,
        authors: scorers.authors.finish(),
        common: scorers.common.finish(),
        skill: scorers.skill.map(|s| s.finish()),
    })
}

/// What the test pass accumulates.
pub(super) struct Scorers {
    authors: MetricAccumulator,
    common: MetricAccumulator,
    skill: Option<SkillAccumulator>,
}

impl Scorers {
    /// Adds one batch of predictions and their ground truth.
    fn add(&mut self, predictions: Tensor<5>, truth: Tensor<5>, clips: usize, config: &ModelConfig) -> anyhow::Result<()> {
        let pred = values(predictions).context("prediction readback")?;
        let gt = values(truth).context("ground truth readback")?;
        let frame = config.height * config.width * config.image_channels;
        self.authors.add(&pred, &gt, clips, frame, config.height, config.width);
        self.common.add(&pred, &gt, clips, frame, config.height, config.width);
        if let Some(skill) = self.skill.as_mut() {
            skill.add(&pred, &gt, clips, frame);
        }
        Ok(())
    }
}

fn values(t: Tensor<5>) -> anyhow::Result<Vec<f32>> {
    t.into_data().try_into_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Mean loss over `clips` in evaluation feeding; feeds the scorers if given.
pub(super) fn evaluate(
    model: &Model,
    clips: &Sequences,
    config: &ModelConfig,
    batch: usize,
    kind: LossKind,
    mut scorers: Option<&mut Scorers>,
) -> anyhow::Result<f64> {
    let model = model.without_autodiff();
    let device = model.device();
    // Weighted by batch size: the mean over clips, as the authors' batch-1 test loader gives,
    // also when the last batch is short.
    let (mut loss_sum, mut clips_seen) = (0.0, 0);
    let indices: Vec<usize> = (0..clips.count).collect();
    for chunk in indices.chunks(batch) {
        let frames = batch_tensor(clips, chunk, &device);
        let out = model.forward(frames.clone(), &Feeding::Autoregressive)?;
        let truth = targets(&frames, &out.predictions);
        let loss = criterion(kind, out.predictions.clone(), truth.clone());
        loss_sum += loss.into_scalar::<f32>() as f64 * chunk.len() as f64;
        clips_seen += chunk.len();
        if let Some(scorers) = scorers.as_mut() {
            scorers.add(out.predictions, truth, chunk.len(), config)?;
        }
    }
    Ok(loss_sum / clips_seen.max(1) as f64)
}

/// The clips at `indices` as one `[B, T, C, H, W]` tensor on `device`.
pub(super) fn batch_tensor(clips: &Sequences, indices: &[usize], device: &burn::tensor::Device) -> Tensor<5> {
    let (values, shape) = clips.batch(indices);
    Tensor::from_data(TensorData::new(values, shape), device)
}

//! The training step against the authors' training loop: a trajectory file
//! (`../shared/golden/trajectory/README.md`) records K steps of `train_and_test.py` (batches,
//! the coin flips of scheduled sampling, the loss before each update, the weights before and
//! after); they are replayed through the harness's own [`training_step`], the function a run
//! trains with, fed the recorded flips instead of the seeded generator.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use burn::tensor::{Device, Tensor};
use safetensors::SafeTensors;
use serde::Serialize;
use vpbench_models::golden::GoldenFile;
use vpbench_models::registry::{self, TrainingFeeding};

use crate::experiment::{OptimizerKind, Profile, ScheduleKind};
use crate::recipe::optimizer;
use crate::run::step::{Learner, RecordedFlips, StepClock, StepState, training_step};

/// The agreement the trajectory files ask for (their README).
pub const LOSS_TOLERANCE: f64 = 1e-5;
pub const UPDATE_TOLERANCE: f64 = 1e-3;

/// One replayed step.
#[derive(Clone, Debug, Serialize)]
pub struct StepCheck {
    pub loss: f64,
    pub authors_loss: f64,
    pub loss_error: f64,
    /// eta as the harness's schedule had it before the step, and as the authors' loop had it.
    pub eta: f64,
    pub authors_eta: f64,
}

#[derive(Clone, Debug, Serialize)]
pub enum TrajectoryOutcome {
    Skipped { reason: String },
    Checked {
        steps: Vec<StepCheck>,
        /// `||ours - theirs|| / ||theirs||` of the whole update `param_final - param`, L2
        /// over every parameter.
        update_error: f64,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct TrajectoryReport {
    pub file: PathBuf,
    pub model_name: String,
    pub outcome: TrajectoryOutcome,
}

impl TrajectoryReport {
    pub fn max_loss_error(&self) -> Option<f64> {
        match &self.outcome {
            TrajectoryOutcome::Checked { steps, .. } => Some(steps.iter().map(|s| s.loss_error).fold(0.0, f64::max)),
            TrajectoryOutcome::Skipped { .. } => None,
        }
    }

    /// Every loss within [`LOSS_TOLERANCE`], every eta the authors', the update within
    /// [`UPDATE_TOLERANCE`] (NaN fails).
    pub fn passed(&self) -> bool {
        match &self.outcome {
            TrajectoryOutcome::Skipped { .. } => false,
            TrajectoryOutcome::Checked { steps, update_error } => {
                steps.iter().all(|s| s.loss_error <= LOSS_TOLERANCE && (s.eta - s.authors_eta).abs() <= 1e-6)
                    && *update_error <= UPDATE_TOLERANCE
            }
        }
    }
}

/// Replays `path` on `device` (autodiff is added here) with the training recipe of
/// `profile` (the authors': Adam, constant learning rate, the L2 + L1 loss), which must be
/// the one the file was recorded with.
pub fn verify_trajectory(path: &Path, device: &Device, profile: &Profile) -> anyhow::Result<TrajectoryReport> {
    let file = GoldenFile::open(path)?;
    let model_name = file.meta("model_name")?.to_string();
    let id = file.meta("id").unwrap_or(&model_name).to_string();
    let Ok(entry) = registry::lookup(&id).or_else(|_| registry::lookup(&model_name)) else {
        let reason = format!("model '{model_name}' is not implemented");
        return Ok(TrajectoryReport { file: path.into(), model_name, outcome: TrajectoryOutcome::Skipped { reason } });
    };
    let recorded = Recorded::read(&file)?;
    check_recipe(&file, profile, recorded.lr)?;
    let device = device.clone().autodiff();
    let config = file.config()?;
    let mut model = registry::build(entry.name, &config, &device)?;
    model.load_pytorch_safetensors(path, "param.")?;
    let mut optim = optimizer(profile);
    let mut flips = recorded.flips(&file, entry.training_feeding)?;
    let clock = StepClock { epoch: recorded.epoch, epochs: recorded.cfg_epoch, total_steps: recorded.steps, eta_delta: recorded.eta_delta() };
    let mut state = StepState { eta: recorded.eta[0], steps: 0 };
    let shape = [recorded.batch, config.seq_len(), config.image_channels, config.height, config.width];
    let mut steps = Vec::with_capacity(recorded.steps);
    for k in 0..recorded.steps {
        let frames = Tensor::<5>::from_data(file.tensor(&format!("frames.{k}"), Some(&shape))?, &device);
        let authors_loss = file.tensor(&format!("loss.{k}"), Some(&[1]))?.try_to_vec::<f32>().expect("f32")[0] as f64;
        let eta = state.eta;
        let learner = Learner { model: &mut model, optim: &mut optim, replicas: &[], memory: None };
        let loss = training_step(learner, profile, entry.training_feeding, frames, &mut flips, &mut state, &clock)?;
        let loss_error = (loss - authors_loss).abs() / authors_loss.abs().max(f64::MIN_POSITIVE);
        steps.push(StepCheck { loss, authors_loss, loss_error, eta, authors_eta: recorded.eta[k] });
    }
    ensure!(flips.left() == 0, "{}: {} recorded rows of coin flips were not drawn", path.display(), flips.left());
    let update_error = update_error(&file, &model.weights_safetensors()?)?;
    Ok(TrajectoryReport { file: path.into(), model_name, outcome: TrajectoryOutcome::Checked { steps, update_error } })
}

/// The profile must train as the file's run did: Adam without weight decay or clipping, a
/// constant learning rate equal to the file's.
fn check_recipe(file: &GoldenFile, profile: &Profile, lr: f64) -> anyhow::Result<()> {
    let path = file.path.display();
    ensure!(profile.optimizer == OptimizerKind::Adam && profile.weight_decay == 0.0 && profile.grad_clip_norm.is_none(),
        "{path}: recorded with torch.optim.Adam (no weight decay, no clipping); the profile trains with {:?}, weight decay {}, clipping {:?}",
        profile.optimizer, profile.weight_decay, profile.grad_clip_norm);
    ensure!(profile.schedule == ScheduleKind::Constant, "{path}: recorded at a constant learning rate; the profile schedules {:?}", profile.schedule);
    ensure!((profile.learning_rate - lr).abs() <= 1e-12 * lr.abs(),
        "{path}: field 'lr' is {lr}, the profile's learning rate is {}", profile.learning_rate);
    Ok(())
}

/// The metadata of a trajectory.
struct Recorded {
    steps: usize,
    batch: usize,
    lr: f64,
    eta: Vec<f64>,
    epoch: usize,
    cfg_epoch: usize,
}

impl Recorded {
    fn read(file: &GoldenFile) -> anyhow::Result<Self> {
        let path = file.path.display();
        let steps = file.meta_usize("steps")?;
        ensure!(steps > 0, "{path}: field 'steps' is 0, expected at least one recorded step");
        let lr_text = file.meta("lr")?;
        let lr = lr_text.parse().with_context(|| format!("{path}: field 'lr' should be a number, found '{lr_text}'"))?;
        let eta = file.meta("eta")?
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{path}: field 'eta' should be comma-separated numbers"))?;
        ensure!(eta.len() == steps, "{path}: field 'eta' has {} values, expected one per step ({steps})", eta.len());
        Ok(Self { steps, batch: file.meta_usize("batch")?, lr, eta, epoch: file.meta_usize("epoch")?, cfg_epoch: file.meta_usize("cfg_epoch")? })
    }

    /// The authors lower eta by one fixed delta per step (`1 / (epochs * batches)`): read
    /// off the first two recorded values (none with one step).
    fn eta_delta(&self) -> f64 {
        if self.steps > 1 { self.eta[0] - self.eta[1] } else { 0.0 }
    }

    /// The recorded flips in drawing order: per step, PredRNN-V2's reverse rows
    /// (`flips_r.<k>`) before the forward rows (`flips.<k>`), each `[T, B]`.
    fn flips(&self, file: &GoldenFile, feeding: TrainingFeeding) -> anyhow::Result<RecordedFlips> {
        let mut rows = Vec::new();
        for k in 0..self.steps {
            let mut keys = vec![format!("flips.{k}")];
            if feeding == TrainingFeeding::Reverse {
                keys.insert(0, format!("flips_r.{k}"));
            }
            for key in keys {
                let data = file.tensor(&key, None)?;
                let shape = data.shape().to_vec();
                if shape.len() != 2 || shape[1] != self.batch {
                    bail!("{}: tensor '{key}' has shape {shape:?}, expected [T, {}]", file.path.display(), self.batch);
                }
                let values = data.try_to_vec::<f32>().expect("f32");
                rows.extend(values.chunks(self.batch).map(|r| r.iter().map(|&v| v as f64).collect()));
            }
        }
        Ok(RecordedFlips::new(rows, file.path.display().to_string()))
    }
}

/// The relative L2 error of the whole update `ours - param` against `param_final - param`.
fn update_error(file: &GoldenFile, ours: &[u8]) -> anyhow::Result<f64> {
    let ours = SafeTensors::deserialize(ours).context("reading back the trained weights")?;
    let by_name: HashMap<String, Vec<f32>> = ours
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()))
        .collect();
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for (name, trained) in &by_name {
        let before = file.tensor(&format!("param.{name}"), None)?.try_to_vec::<f32>().expect("f32");
        let after = file.tensor(&format!("param_final.{name}"), None)?.try_to_vec::<f32>().expect("f32");
        ensure!(before.len() == trained.len() && after.len() == trained.len(),
            "{}: parameter '{name}' has {} values here, {} in the file", file.path.display(), trained.len(), after.len());
        got.extend(trained.iter().zip(&before).map(|(&t, &b)| t as f64 - b as f64));
        want.extend(after.iter().zip(&before).map(|(&a, &b)| a as f64 - b as f64));
    }
    let diff: f64 = got.iter().zip(&want).map(|(g, w)| (g - w).powi(2)).sum::<f64>().sqrt();
    let norm: f64 = want.iter().map(|w| w * w).sum::<f64>().sqrt();
    Ok(if norm > 0.0 { diff / norm } else { diff })
}

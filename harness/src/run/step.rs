//! One training step as the authors' `train_and_test.py` takes it: scheduled-sampling masks
//! from coin flips, forward, loss, backward, one optimiser update, then eta lowered by a
//! fixed delta. A run (`epochs.rs`) and the trajectory check (`crate::trajectory`) call this
//! same function; only where the coin flips come from differs.

use std::collections::VecDeque;

use anyhow::{bail, ensure};
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use vpbench_models::registry::TrainingFeeding;
use vpbench_models::{Feeding, Model, ModelConfig};

use crate::data_parallel::step_gradients;
use crate::experiment::Profile;
use crate::memory::PoolSampler;
use crate::recipe::{learning_rate, reverse_schedule, schedule_beta1};

/// Uniform draws in [0, 1) that decide, sequence by sequence, whether a step is fed the true
/// frame (`draw < probability`), as the authors' `np.random.random_sample` does.
pub trait CoinFlips {
    /// One draw per sequence of the batch, for one time step of the schedule.
    fn draw(&mut self, batch: usize) -> anyhow::Result<Vec<f64>>;
}

/// A run's flips: the seeded generator of its epoch.
impl CoinFlips for ChaCha8Rng {
    fn draw(&mut self, batch: usize) -> anyhow::Result<Vec<f64>> {
        Ok((0..batch).map(|_| self.random::<f64>()).collect())
    }
}

/// Flips recorded from the authors' run, replayed in the order they were drawn.
pub struct RecordedFlips {
    rows: VecDeque<Vec<f64>>,
    origin: String,
}

impl RecordedFlips {
    /// `rows` in drawing order, one per time step; `origin` names them in errors.
    pub fn new(rows: Vec<Vec<f64>>, origin: impl Into<String>) -> Self {
        Self { rows: rows.into(), origin: origin.into() }
    }

    /// Flips not consumed: a step that draws fewer than were recorded differs from the authors'.
    pub fn left(&self) -> usize {
        self.rows.len()
    }
}

impl CoinFlips for RecordedFlips {
    fn draw(&mut self, batch: usize) -> anyhow::Result<Vec<f64>> {
        let Some(row) = self.rows.pop_front() else {
            bail!("{}: the step drew more coin flips than were recorded", self.origin);
        };
        ensure!(row.len() == batch, "{}: a recorded row has {} flips, the batch has {batch} sequences", self.origin, row.len());
        Ok(row)
    }
}

/// Where a step stands in its run: the schedules read it.
#[derive(Clone, Debug)]
pub struct StepClock {
    /// 1-based, as the authors count it (PredRNN-V2's reverse schedule reads it).
    pub epoch: usize,
    pub epochs: usize,
    /// Optimiser steps of the whole run (the learning-rate schedule reads it).
    pub total_steps: usize,
    /// What eta loses after every step: `1 / total_steps` in the authors' loop.
    pub eta_delta: f64,
}

impl StepClock {
    /// The authors' clock: eta falls from 1 to 0 over the whole run, `1 / (epochs * steps
    /// per epoch)` a step.
    pub fn authors(epoch: usize, epochs: usize, total_steps: usize) -> Self {
        Self { epoch, epochs, total_steps, eta_delta: 1.0 / total_steps.max(1) as f64 }
    }
}

/// The state a step reads and moves on.
#[derive(Clone, Debug)]
pub struct StepState {
    /// Scheduled sampling's probability of the true frame.
    pub eta: f64,
    /// Optimiser steps taken so far.
    pub steps: usize,
}

/// What trains: the model, its optimiser, and the replicas' devices for data parallel.
pub struct Learner<'a> {
    pub model: &'a mut Model,
    pub optim: &'a mut ModuleOptimizer,
    pub replicas: &'a [Device],
    /// burn's allocator, read after the backward pass (gradients held), where there is one.
    pub memory: Option<&'a PoolSampler>,
}

/// One training step on `frames` (`[B, S, C, H, W]`): the batch's loss before the update.
/// A non-finite loss is returned before any update is made.
pub fn training_step(
    learner: Learner<'_>,
    profile: &Profile,
    feeding: TrainingFeeding,
    frames: Tensor<5>,
    flips: &mut dyn CoinFlips,
    state: &mut StepState,
    clock: &StepClock,
) -> anyhow::Result<f64> {
    let batch = frames.dims()[0];
    let masks = training_feeding(feeding, learner.model.config(), state.eta, clock, flips, batch)?;
    let (value, grads) = step_gradients(learner.model, learner.replicas, frames, &masks, profile.loss)?;
    if !value.is_finite() {
        return Ok(value);
    }
    if let Some(pool) = learner.memory {
        pool.sample(&learner.model.device());
    }
    schedule_beta1(learner.optim, profile, state.steps, clock.total_steps);
    learner.model.optimizer_step(learner.optim, learning_rate(profile, state.steps, clock.total_steps), grads);
    state.eta = (state.eta - clock.eta_delta).max(0.0);
    state.steps += 1;
    Ok(value)
}

/// The feeding of one training step: scheduled sampling with probability `eta` of the true
/// frame, or PredRNN-V2's reverse schedule at the clock's epoch (whose eta_r and eta come
/// from the epoch, not from `eta`). Flips are drawn in the authors' order: for PredRNN-V2
/// the `in_len - 1` reverse rows first, then the `out_len - 1` forward rows.
pub fn training_feeding(
    kind: TrainingFeeding,
    config: &ModelConfig,
    eta: f64,
    clock: &StepClock,
    flips: &mut dyn CoinFlips,
    batch: usize,
) -> anyhow::Result<Feeding> {
    let probabilities: Vec<f64> = match kind {
        TrainingFeeding::Scheduled => vec![eta; config.out_len.saturating_sub(1)],
        TrainingFeeding::Reverse => {
            let (eta_r, eta) = reverse_schedule(clock.epoch, clock.epochs);
            (1..config.seq_len() - 1).map(|t| if t < config.in_len { eta_r } else { eta }).collect()
        }
    };
    let mut masks = Vec::with_capacity(probabilities.len());
    for p in probabilities {
        masks.push(flips.draw(batch)?.into_iter().map(|flip| flip < p).collect());
    }
    Ok(match kind {
        TrainingFeeding::Scheduled => Feeding::Scheduled { masks },
        TrainingFeeding::Reverse => Feeding::Reverse { masks },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(in_len: usize, out_len: usize) -> ModelConfig {
        ModelConfig { image_channels: 1, height: 8, width: 8, hidden: 4, layers: 1, kernel: 3, in_len, out_len }
    }

    #[test]
    fn a_flip_below_eta_feeds_the_true_frame() {
        let clock = StepClock::authors(1, 2, 10);
        let mut flips = RecordedFlips::new(vec![vec![0.2, 0.8], vec![0.5, 0.49]], "test");
        let feeding = training_feeding(TrainingFeeding::Scheduled, &config(2, 3), 0.5, &clock, &mut flips, 2).unwrap();
        assert_eq!(feeding, Feeding::Scheduled { masks: vec![vec![true, false], vec![false, true]] });
        assert_eq!(flips.left(), 0);
    }

    #[test]
    fn reverse_rows_come_first_with_their_own_probability() {
        // epoch 20 of 20: eta_r = 1 (every input step true), eta = 0 (every future step predicted)
        let clock = StepClock::authors(20, 20, 10);
        let rows = vec![vec![0.99], vec![0.99], vec![0.01], vec![0.01]];
        let mut flips = RecordedFlips::new(rows, "test");
        let feeding = training_feeding(TrainingFeeding::Reverse, &config(3, 3), 0.5, &clock, &mut flips, 1).unwrap();
        assert_eq!(feeding, Feeding::Reverse { masks: vec![vec![true], vec![true], vec![false], vec![false]] });
    }

    #[test]
    fn running_out_of_recorded_flips_is_an_error() {
        let clock = StepClock::authors(1, 1, 1);
        let mut flips = RecordedFlips::new(vec![vec![0.1]], "file.safetensors");
        let err = training_feeding(TrainingFeeding::Scheduled, &config(2, 3), 0.5, &clock, &mut flips, 1).unwrap_err();
        assert!(err.to_string().contains("file.safetensors"), "{err}");
    }

    /// A real run's eta against the authors' loop: 1 at the first step, then `1 / (epochs *
    /// batches)` less after every step (`train_and_test.py`: `eta -= delta; eta = max(eta,
    /// 0)`), floored at 0; the masks of each step drawn with the eta before its update.
    #[test]
    fn eta_follows_the_authors_per_step_schedule() {
        use crate::recipe::optimizer;
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/profiles/mmnist.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let mut profile = crate::profile_file::parse_profiles(&text, std::path::Path::new(path)).unwrap()["smoke"].clone();
        (profile.frame_size, profile.hidden, profile.layers, profile.in_len, profile.out_len) = (8, 2, 1, 2, 3);
        let device = Device::flex().autodiff();
        let mut model = vpbench_models::registry::build("convlstm", &profile.model_config(), &device).unwrap();
        let mut optim = optimizer(&profile);
        let (epochs, per_epoch) = (2, 3);
        let total = epochs * per_epoch;
        let mut state = StepState { eta: 1.0, steps: 0 };
        let mut seen = Vec::new();
        for step in 0..total + 2 {
            let clock = StepClock::authors(step / per_epoch + 1, epochs, total);
            let frames = Tensor::<5>::zeros([1, 5, 1, 8, 8], &device);
            // one flip just under the authors' eta of this step: true exactly when eta is right
            let authors_eta = (1.0 - step as f64 / total as f64).max(0.0);
            let mut flips = RecordedFlips::new(vec![vec![authors_eta - 1e-9]; 2], "test");
            let learner = Learner { model: &mut model, optim: &mut optim, replicas: &[], memory: None };
            seen.push(state.eta);
            training_step(learner, &profile, TrainingFeeding::Scheduled, frames, &mut flips, &mut state, &clock).unwrap();
            assert_eq!(flips.left(), 0, "step {step} drew out_len - 1 rows");
        }
        let want: Vec<f64> = (0..total + 2).map(|k| (1.0 - k as f64 / total as f64).max(0.0)).collect();
        for (got, want) in seen.iter().zip(&want) {
            assert!((got - want).abs() < 1e-12, "eta per step {seen:?}, the authors' {want:?}");
        }
        assert_eq!(state.steps, total + 2);
    }
}

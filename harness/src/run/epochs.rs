//! Stage 2: the epochs: shuffled batches, scheduled sampling, one optimiser step per batch,
//! validation every `valid_every` epochs and a checkpoint after it.

use std::time::Instant;

use anyhow::bail;
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::RunPlan;
use super::checkpoint::save_checkpoint;
use super::prepare::Training;
use super::test::{batch_tensor, evaluate};
use super::step::{Learner, StepClock, StepState, training_step};
use crate::memory::PoolSampler;
use crate::progress::Progress;
use crate::record::EpochLoss;

/// What every step of a run shares: its schedule's step counts, the model's configuration
/// and how it is fed in training (looked up once, not per step).
struct Schedule<'a> {
    steps_per_epoch: usize,
    total_steps: usize,
    feeding: vpbench_models::registry::TrainingFeeding,
    memory: Option<&'a PoolSampler>,
}

/// Trains from the epoch after the last one done to the profile's last.
pub(super) fn train_epochs(
    plan: &RunPlan<'_>,
    progress: &Progress,
    run: &mut Training,
    memory: Option<&PoolSampler>,
) -> anyhow::Result<()> {
    let profile = &plan.profile;
    let steps_per_epoch = plan.data.train.count.div_ceil(profile.batch);
    let schedule = Schedule {
        steps_per_epoch,
        total_steps: profile.epochs * steps_per_epoch,
        feeding: vpbench_models::registry::lookup(plan.model)?.training_feeding,
        memory,
    };
    let bar = progress.bar(schedule.total_steps as u64, &plan.run_id);
    bar.set_position((run.state.epochs_done * schedule.steps_per_epoch) as u64);
    for epoch in run.state.epochs_done..profile.epochs {
        let epoch_start = Instant::now();
        let loss_sum = train_epoch(plan, run, &schedule, epoch, &bar).inspect_err(|_| bar.abandon())?;
        let last = epoch + 1 == profile.epochs;
        let validate = last || (epoch + 1) % profile.valid_every == 0;
        let valid_loss = if validate { Some(validation_loss(plan, run)?) } else { None };
        let state = &mut run.state;
        state.losses.push(EpochLoss { epoch: epoch + 1, train_loss: loss_sum / schedule.steps_per_epoch as f64, valid_loss });
        let epoch_s = epoch_start.elapsed().as_secs_f64();
        state.per_epoch_s.push(epoch_s);
        state.elapsed_s += epoch_s;
        state.epochs_done = epoch + 1;
        if validate && !last {
            save_checkpoint(&run.checkpoint_dir, &run.model, &run.optim, &run.state)?;
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// One epoch's optimiser steps; the sum of their losses.
fn train_epoch(plan: &RunPlan<'_>, run: &mut Training, schedule: &Schedule<'_>, epoch: usize, bar: &ProgressBar) -> anyhow::Result<f64> {
    let profile = &plan.profile;
    let train = &plan.data.train;
    let mut rng = ChaCha8Rng::seed_from_u64(profile.seed.wrapping_mul(0x9e37_79b9).wrapping_add(epoch as u64));
    let mut order: Vec<usize> = (0..train.count).collect();
    order.shuffle(&mut rng);
    let parent = std::os::unix::process::parent_id();
    let mut loss_sum = 0.0;
    for (it, indices) in order.chunks(profile.batch).enumerate() {
        if plan.exit_with_parent && std::os::unix::process::parent_id() != parent {
            // The sweep that started this run is gone: leave the checkpoint for a rerun.
            std::process::exit(3);
        }
        let step_start = Instant::now();
        let value = train_step(plan, run, schedule, epoch, indices, &mut rng)?;
        if !value.is_finite() {
            bail!("loss became {value} at epoch {}, step {}", epoch + 1, it + 1);
        }
        loss_sum += value;
        let step_s = step_start.elapsed().as_secs_f64();
        if std::mem::take(&mut run.first_step_pending) {
            // compilation and autotuning: kept out of the mean step, still in the epoch's time
            run.state.first_steps_s += step_s;
            run.state.first_steps += 1;
        } else {
            run.state.step_s_total += step_s;
        }
        bar.inc(1);
        let rate = indices.len() as f64 / step_start.elapsed().as_secs_f64();
        bar.set_message(format!("epoch {}/{}, loss {value:.2}, {rate:.2} seq/s", epoch + 1, profile.epochs));
    }
    Ok(loss_sum)
}

/// [`training_step`] on one batch of the run, with the run's clock and seeded coin flips;
/// the batch's loss.
fn train_step(
    plan: &RunPlan<'_>,
    run: &mut Training,
    schedule: &Schedule<'_>,
    epoch: usize,
    indices: &[usize],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<f64> {
    let profile = &plan.profile;
    let frames = batch_tensor(&plan.data.train, indices, &run.device);
    let clock = StepClock::authors(epoch + 1, profile.epochs, schedule.total_steps);
    let mut state = StepState { eta: run.state.eta, steps: run.state.steps };
    let learner = Learner { model: &mut run.model, optim: &mut run.optim, replicas: &run.replicas, memory: schedule.memory };
    let value = training_step(learner, profile, schedule.feeding, frames, rng, &mut state, &clock)?;
    (run.state.eta, run.state.steps) = (state.eta, state.steps);
    Ok(value)
}

/// The loss on the test clips, in evaluation feeding (the authors validate on them).
fn validation_loss(plan: &RunPlan<'_>, run: &Training) -> anyhow::Result<f64> {
    let profile = &plan.profile;
    evaluate(&run.model, &plan.data.test, &profile.model_config(), profile.eval_batch, profile.loss, None)
}

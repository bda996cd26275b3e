//! One run: train a model with the authors' protocol, evaluate it, measure it, record it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use vpbench_datasets::{DatasetKind, Sequences};
use vpbench_models::cost::{analytic_memory, count_macs};
use vpbench_models::{Feeding, Model, ModelConfig, registry};

use crate::checkpoint::{existing_checkpoint, load_checkpoint, save_checkpoint};
use crate::data::DataSplit;
use crate::data_parallel::step_gradients;
use crate::device::ComputeDevice;
use crate::experiment::{LossKind, OptimizerKind, Profile, ScheduleKind};
use crate::host::HostInfo;
use crate::memory::{MemoryPeak, memory_peak, reset_peak_rss, start_sampler};
use crate::metrics::{Convention, MetricAccumulator};
use crate::panic::panic_message;
use crate::progress::Progress;
use crate::recipe::{criterion, learning_rate, optimizer, targets, training_feeding, with_scheduled_beta1};
use crate::record::{
    CostInfo, EpochLoss, RunRecord, RunStatus, TestMetrics, Timing, TrainingSettings,
};
use crate::skill::{SkillAccumulator, ZrRelation};

/// Everything needed to carry out one run.
pub struct RunPlan<'a> {
    pub run_id: String,
    pub model: &'a str,
    pub profile_name: &'a str,
    /// The profile as it applies to this model (overrides applied).
    pub profile: Profile,
    pub dataset: DatasetKind,
    pub data: &'a DataSplit,
    pub device: &'a ComputeDevice,
    pub run_dir: PathBuf,
    pub resume: bool,
    pub command: String,
    /// Stop (without a record, so that the run resumes later) if the parent process ends:
    /// set in child processes of a sweep.
    pub exit_with_parent: bool,
}

/// Progress of an unfinished run, saved with each checkpoint.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct TrainState {
    pub(crate) epochs_done: usize,
    pub(crate) eta: f64,
    pub(crate) losses: Vec<EpochLoss>,
    pub(crate) per_epoch_s: Vec<f64>,
    pub(crate) steps: usize,
    pub(crate) step_s_total: f64,
    pub(crate) elapsed_s: f64,
}

/// Runs the plan; a failure of any kind (NaN loss, out of memory, a panic) comes back as a
/// record with status failed, never as a crash of the sweep.
pub fn execute(plan: &RunPlan<'_>, progress: &Progress) -> RunRecord {
    let mut record = base_record(plan);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        train_and_test(plan, progress, &mut record)
    }));
    record.status = match outcome {
        Ok(Ok(())) => RunStatus::Finished,
        Ok(Err(e)) => RunStatus::Failed {
            reason: format!("{e:#}"),
        },
        Err(panic) => RunStatus::Failed {
            reason: format!("panicked: {}", panic_message(panic.as_ref())),
        },
    };
    record.finished_unix = unix_now();
    record
}

/// The record of a run as far as it is known before training.
fn base_record(plan: &RunPlan<'_>) -> RunRecord {
    let entry = registry::lookup(plan.model).expect("experiment files are checked on load");
    RunRecord {
        run_id: plan.run_id.clone(),
        status: RunStatus::Finished,
        model: entry.name.to_string(),
        paper_name: entry.paper_name.to_string(),
        profile: plan.profile_name.to_string(),
        data: plan.data.info.clone(),
        model_config: plan.profile.model_config(),
        training: settings(&plan.profile),
        backend: plan.device.backend.clone(),
        device: plan.device.name.clone(),
        adapter: plan.device.adapter.clone(),
        cost: CostInfo {
            params: 0,
            macs_paper_config: 0,
            macs_run_config: 0,
            paper_flops_batch: 1,
            macs_paper_batch: 0,
            macs_breakdown: Default::default(),
            counted: String::new(),
            analytic_memory_run: None,
        },
        timing: Timing::default(),
        memory: MemoryPeak::default(),
        losses: Vec::new(),
        test: None,
        resumed: false,
        host: HostInfo::collect(),
        started_unix: unix_now(),
        finished_unix: 0,
        command: plan.command.clone(),
    }
}

/// A record for a run that ended before it could record itself (its process was killed).
pub fn failed_record(plan: &RunPlan<'_>, reason: String) -> RunRecord {
    let mut record = base_record(plan);
    record.status = RunStatus::Failed { reason };
    record.finished_unix = unix_now();
    record
}

fn train_and_test(
    plan: &RunPlan<'_>,
    progress: &Progress,
    record: &mut RunRecord,
) -> anyhow::Result<()> {
    let profile = &plan.profile;
    let config = profile.model_config();
    let entry = registry::lookup(plan.model)?;
    record.cost = costs(plan.model, &config, profile.batch, plan.dataset)?;

    let base = &plan.device.device;
    base.seed(profile.seed);
    let device = base.clone().autodiff();
    // The weights are drawn on the CPU from the run's seed, then moved: a run starts from the
    // same weights on every backend (each backend's own generator draws other numbers).
    let host = burn::tensor::Device::flex();
    host.seed(profile.seed);
    let mut model = registry::build(plan.model, &config, &host)?.fork(&device);
    let mut optim = optimizer(profile);
    let replicas: Vec<burn::tensor::Device> = plan
        .device
        .data_parallel
        .iter()
        .map(|d| d.clone().autodiff())
        .collect();

    // The run's folder: made here, not first by a mid-training checkpoint, which a profile
    // validating only at the end never writes.
    std::fs::create_dir_all(&plan.run_dir).with_context(|| format!("cannot create {}", plan.run_dir.display()))?;
    let ckpt_dir = plan.run_dir.join("checkpoint");
    let mut state = TrainState {
        eta: 1.0,
        ..Default::default()
    };
    if plan.resume
        && let Some(dir) = existing_checkpoint(&ckpt_dir)
    {
        state = load_checkpoint(&dir, &mut model, &mut optim, profile)?;
        record.resumed = true;
        progress.println(&format!(
            "{}: resuming after epoch {}",
            plan.run_id, state.epochs_done
        ));
    }

    reset_peak_rss();
    let sampler = start_sampler(plan.device, std::time::Duration::from_millis(100));

    let parent = std::os::unix::process::parent_id();
    let train = &plan.data.train;
    let iters_per_epoch = train.count.div_ceil(profile.batch);
    let total_steps = profile.epochs * iters_per_epoch;
    let eta_step = 1.0 / total_steps as f64;
    let bar = progress.bar((profile.epochs * iters_per_epoch) as u64, &plan.run_id);
    bar.set_position((state.epochs_done * iters_per_epoch) as u64);

    for epoch in state.epochs_done..profile.epochs {
        let epoch_start = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(
            profile
                .seed
                .wrapping_mul(0x9e37_79b9)
                .wrapping_add(epoch as u64),
        );
        let mut order: Vec<usize> = (0..train.count).collect();
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for (it, indices) in order.chunks(profile.batch).enumerate() {
            if plan.exit_with_parent && std::os::unix::process::parent_id() != parent {
                // The sweep that started this run is gone: leave the checkpoint for a rerun.
                std::process::exit(3);
            }
            let step_start = Instant::now();
            let frames = batch_tensor(train, indices, &device);
            let feeding = training_feeding(
                entry.training_feeding,
                &config,
                state.eta,
                (epoch + 1, profile.epochs),
                &mut rng,
                indices.len(),
            );
            let (value, grads) = step_gradients(&model, &replicas, frames, &feeding, profile.loss)?;
            if !value.is_finite() {
                bar.abandon();
                bail!(
                    "loss became {value} at epoch {}, step {}",
                    epoch + 1,
                    it + 1
                );
            }
            optim = with_scheduled_beta1(optim, profile, state.steps, total_steps);
            model.optimizer_step(
                &mut optim,
                learning_rate(profile, state.steps, total_steps),
                grads,
            );
            state.eta = (state.eta - eta_step).max(0.0);
            loss_sum += value;
            state.steps += 1;
            state.step_s_total += step_start.elapsed().as_secs_f64();
            bar.inc(1);
            bar.set_message(format!(
                "epoch {}/{}, loss {value:.2}, {:.2} seq/s",
                epoch + 1,
                profile.epochs,
                indices.len() as f64 / step_start.elapsed().as_secs_f64()
            ));
        }
        let last = epoch + 1 == profile.epochs;
        let valid = (last || (epoch + 1) % profile.valid_every == 0)
            .then(|| {
                evaluate(
                    &model,
                    &plan.data.test,
                    &config,
                    profile.eval_batch,
                    profile.loss,
                    None,
                )
            })
            .transpose()?
            .map(|(loss, _)| loss);
        state.losses.push(EpochLoss {
            epoch: epoch + 1,
            train_loss: loss_sum / iters_per_epoch as f64,
            valid_loss: valid,
        });
        let epoch_s = epoch_start.elapsed().as_secs_f64();
        state.per_epoch_s.push(epoch_s);
        state.elapsed_s += epoch_s;
        state.epochs_done = epoch + 1;
        if valid.is_some() && !last {
            save_checkpoint(&ckpt_dir, &model, &optim, &state)?;
        }
    }
    bar.finish_and_clear();

    let test_start = Instant::now();
    let mut scorers = Scorers {
        authors: MetricAccumulator::new(Convention::Authors, config.out_len, config.seq_len()),
        common: MetricAccumulator::new(Convention::Common, config.out_len, config.seq_len()),
        // skill scores mean something for rain only
        skill: (plan.dataset == DatasetKind::GermanRadar)
            .then(|| SkillAccumulator::new(ZrRelation::DWD)),
    };
    let (test_loss, _) = evaluate(
        &model,
        &plan.data.test,
        &config,
        profile.eval_batch,
        profile.loss,
        Some(&mut scorers),
    )?;
    let test_s = test_start.elapsed().as_secs_f64();

    record.memory = memory_peak(sampler, &plan.device.device);
    record.losses = state.losses;
    record.timing = Timing {
        total_s: state.elapsed_s + test_s,
        mean_step_s: state.step_s_total / state.steps.max(1) as f64,
        per_epoch_s: state.per_epoch_s,
        steps: state.steps,
        test_s,
    };
    record.test = Some(TestMetrics {
        loss: test_loss,
        authors: scorers.authors.finish(),
        common: scorers.common.finish(),
        skill: scorers.skill.map(|s| s.finish()),
    });
    // The weights that were tested, for figures and later inspection.
    model.save_checkpoint(&plan.run_dir.join("final.safetensors"))?;
    let _ = std::fs::remove_dir_all(&ckpt_dir);
    Ok(())
}

/// What the test pass accumulates.
struct Scorers {
    authors: MetricAccumulator,
    common: MetricAccumulator,
    skill: Option<SkillAccumulator>,
}

/// Mean loss over `clips` in evaluation feeding; feeds the accumulators if given.
fn evaluate(
    model: &Model,
    clips: &Sequences,
    config: &ModelConfig,
    batch: usize,
    kind: LossKind,
    mut metrics: Option<&mut Scorers>,
) -> anyhow::Result<(f64, usize)> {
    let model = model.without_autodiff();
    let device = model.device();
    // Weighted by batch size: the mean over clips, as the authors' batch-1 test loader gives,
    // also when the last batch is short.
    let (mut loss_sum, mut batches, mut clips_seen) = (0.0, 0, 0);
    let indices: Vec<usize> = (0..clips.count).collect();
    let frame = config.height * config.width * config.image_channels;
    for chunk in indices.chunks(batch) {
        let frames = batch_tensor(clips, chunk, &device);
        let out = model.forward(frames.clone(), &Feeding::Autoregressive)?;
        let truth = targets(&frames, &out.predictions);
        let loss = criterion(kind, out.predictions.clone(), truth.clone());
        loss_sum += loss.into_scalar::<f32>() as f64 * chunk.len() as f64;
        batches += 1;
        clips_seen += chunk.len();
        if let Some(scorers) = metrics.as_mut() {
            let pred = out
                .predictions
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))
                .context("prediction readback")?;
            let gt = truth
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))
                .context("ground truth readback")?;
            scorers
                .authors
                .add(&pred, &gt, chunk.len(), frame, config.height, config.width);
            scorers
                .common
                .add(&pred, &gt, chunk.len(), frame, config.height, config.width);
            if let Some(skill) = scorers.skill.as_mut() {
                skill.add(&pred, &gt, chunk.len(), frame);
            }
        }
    }
    Ok((loss_sum / clips_seen.max(1) as f64, batches))
}

fn batch_tensor(clips: &Sequences, indices: &[usize], device: &burn::tensor::Device) -> Tensor<5> {
    let (values, shape) = clips.batch(indices);
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn costs(
    model: &str,
    run_config: &ModelConfig,
    run_batch: usize,
    dataset: DatasetKind,
) -> anyhow::Result<CostInfo> {
    let host = burn::tensor::Device::flex();
    let g = dataset.paper_geometry();
    let paper_config = ModelConfig {
        image_channels: g.channels,
        height: g.height,
        width: g.width,
        hidden: 32,
        layers: 6,
        kernel: 3,
        in_len: g.in_len,
        out_len: g.out_len,
    };
    let at_paper = registry::build(model, &paper_config, &host)?;
    let at_run = registry::build(model, run_config, &host)?;
    let batch = registry::lookup(model)?.paper_flops_batch;
    let breakdown = count_macs(&at_paper, 1)?;
    Ok(CostInfo {
        params: at_paper.num_params(),
        macs_paper_config: breakdown.paper(),
        macs_breakdown: breakdown,
        macs_run_config: count_macs(&at_run, 1)?.paper(),
        paper_flops_batch: batch,
        macs_paper_batch: count_macs(&at_paper, batch)?.paper(),
        counted: "params and MACs at the paper's configuration of the dataset (32 hidden, 6 layers); \
                  MACs: thop convention (convolutions, transposed convolutions, linear layers, LayerNorm, \
                  bilinear upsampling, softmax modules), one sequence; activation products (attention) \
                  in macs_breakdown.matmul, outside the convention"
            .into(),
        analytic_memory_run: Some(analytic_memory(&at_run, run_batch)?),
    })
}

fn settings(p: &Profile) -> TrainingSettings {
    let optimizer = match p.optimizer {
        OptimizerKind::Adam => "Adam",
        OptimizerKind::AdamW => "AdamW",
    };
    TrainingSettings {
        optimizer: format!(
            "{optimizer} (beta {}/0.999, eps 1e-8, weight decay {}, schedule {:?}{}, gradient clipping {})",
            if p.schedule == ScheduleKind::OneCycle { "1 cycled 0.95 -> 0.85 -> 0.95 opposite to the rate (OneCycleLR's cycle_momentum)" } else { "0.9" },
            p.weight_decay,
            p.schedule,
            if p.schedule == ScheduleKind::WarmupCosine { format!(" with {}% warm-up", p.warmup_fraction * 100.0) } else { String::new() },
            p.grad_clip_norm.map_or("none".to_string(), |n| format!("per-tensor L2 norm {n}")),
        ),
        learning_rate: p.learning_rate,
        epochs: p.epochs,
        batch: p.batch,
        loss: match p.loss {
            LossKind::L2L1Sum => "per-frame pixel-sum L2 + L1 over the predicted frames, mean over frames and batch".into(),
            LossKind::Mse => "mean squared error over all predicted pixels".into(),
        },
        feeding: "scheduled sampling, eta from 1 to 0 linearly over all iterations (PredRNN-V2: the authors' \
                  reverse scheduled sampling by epoch); test autoregressive"
            .into(),
        valid_every: p.valid_every,
        seed: p.seed,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

//! Stage 4: the run's record: what is known before training (settings, costs, host), and
//! what the stages measured, filled in at the end.

use std::time::{SystemTime, UNIX_EPOCH};

use vpbench_datasets::Dataset;
use vpbench_models::cost::{analytic_memory, count_macs};
use vpbench_models::{ModelConfig, registry};

use super::RunPlan;
use super::checkpoint::TrainState;
use super::test::Tested;
use crate::experiment::{LossKind, OptimizerKind, Profile, ScheduleKind};
use crate::host::HostInfo;
use crate::memory::MemoryPeak;
use crate::record::{CostInfo, RunRecord, RunStatus, Timing, TrainingSettings};

/// The record of a run as far as it is known before training.
pub(super) fn base_record(plan: &RunPlan<'_>) -> RunRecord {
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

/// Fills in what training, testing and the memory sampler measured.
pub(super) fn fill(record: &mut RunRecord, state: TrainState, tested: Tested, memory: MemoryPeak) {
    record.memory = memory;
    let mean_step_s = mean_steady_step(&state);
    record.losses = state.losses;
    record.timing = Timing {
        total_s: state.elapsed_s + tested.seconds,
        mean_step_s,
        per_epoch_s: state.per_epoch_s,
        steps: state.steps,
        first_steps_s: state.first_steps_s,
        test_s: tested.seconds,
    };
    record.test = Some(tested.metrics);
}

/// The mean step without the first step of each process; the first steps' mean where a run
/// had no other step.
fn mean_steady_step(state: &TrainState) -> f64 {
    match state.steps.saturating_sub(state.first_steps) {
        0 => state.first_steps_s / state.first_steps.max(1) as f64,
        steady => state.step_s_total / steady as f64,
    }
}

pub(super) fn costs(
    model: &str,
    run_config: &ModelConfig,
    run_batch: usize,
    dataset: &dyn Dataset,
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

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

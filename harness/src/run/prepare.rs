//! Stage 1: the model and optimiser of a run, from its seed or from its checkpoint.

use std::path::PathBuf;

use anyhow::Context;
use burn::optim::ModuleOptimizer;
use vpbench_models::{Model, registry};

use super::RunPlan;
use super::checkpoint::{TrainState, existing_checkpoint, load_checkpoint};
use crate::progress::Progress;
use crate::recipe::optimizer;

/// A run ready to train (or partly trained, when resumed).
pub(super) struct Training {
    pub model: Model,
    pub optim: ModuleOptimizer,
    /// The autodiff device the model trains on.
    pub device: burn::tensor::Device,
    /// Further devices for data parallelism (autodiff), empty on one device.
    pub replicas: Vec<burn::tensor::Device>,
    pub state: TrainState,
    pub resumed: bool,
    pub checkpoint_dir: PathBuf,
    /// No step has run in this process yet: the next one compiles (and autotunes) kernels.
    pub first_step_pending: bool,
}

pub(super) fn prepare(plan: &RunPlan<'_>, progress: &Progress) -> anyhow::Result<Training> {
    let profile = &plan.profile;
    let base = &plan.device.device;
    base.seed(profile.seed);
    let device = base.clone().autodiff();
    // The weights are drawn on the CPU from the run's seed, then moved: a run starts from the
    // same weights on every backend (each backend's own generator draws other numbers).
    let host = burn::tensor::Device::flex();
    host.seed(profile.seed);
    let mut model = registry::build(plan.model, &profile.model_config(), &host)?.fork(&device);
    let mut optim = optimizer(profile);
    let replicas = plan.device.data_parallel.iter().map(|d| d.clone().autodiff()).collect();

    // The run's folder: made here, not first by a mid-training checkpoint, which a profile
    // validating only at the end never writes.
    std::fs::create_dir_all(&plan.run_dir).with_context(|| format!("cannot create {}", plan.run_dir.display()))?;
    let checkpoint_dir = plan.run_dir.join("checkpoint");
    let mut state = TrainState { eta: 1.0, ..Default::default() };
    let mut resumed = false;
    if plan.resume
        && let Some(dir) = existing_checkpoint(&checkpoint_dir)
    {
        state = load_checkpoint(&dir, &mut model, &mut optim, profile)?;
        resumed = true;
        progress.println(&format!("{}: resuming after epoch {}", plan.run_id, state.epochs_done));
    }
    Ok(Training { model, optim, device, replicas, state, resumed, checkpoint_dir, first_step_pending: true })
}

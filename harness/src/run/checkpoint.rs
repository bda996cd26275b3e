//! Checkpoints of an unfinished run: model record, optimiser state and progress, swapped in
//! whole so that an interruption never leaves a half-written one.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};
use vpbench_models::Model;

use crate::atomic::replace_dir_atomic;
use crate::experiment::Profile;
use crate::recipe::optimizer;
use crate::record::EpochLoss;

/// Progress of an unfinished run, saved with each checkpoint.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct TrainState {
    pub(crate) epochs_done: usize,
    pub(crate) eta: f64,
    pub(crate) losses: Vec<EpochLoss>,
    pub(crate) per_epoch_s: Vec<f64>,
    pub(crate) steps: usize,
    /// The steady steps' seconds: every step but the first of each process.
    pub(crate) step_s_total: f64,
    /// The first step of each process (kernel compilation and, on GPU backends, autotuning of
    /// every shape), seconds, and how many such steps there were.
    #[serde(default)]
    pub(crate) first_steps_s: f64,
    #[serde(default)]
    pub(crate) first_steps: usize,
    pub(crate) elapsed_s: f64,
}

/// The checkpoint to resume from: `dir`, or, where a crash fell between removing the old
/// one and moving the new one in, the newest complete replacement beside it (a folder is
/// complete once its `state.json`, written last, exists).
pub(crate) fn existing_checkpoint(dir: &Path) -> Option<PathBuf> {
    if dir.join("state.json").is_file() {
        return Some(dir.to_path_buf());
    }
    swap_leftovers(dir)
        .into_iter()
        .filter(|p| p.join("state.json").is_file())
        .max_by_key(|p| std::fs::metadata(p.join("state.json")).and_then(|m| m.modified()).ok())
}

/// Writes model, optimiser and progress into a fresh folder, then swaps it in.
pub(crate) fn save_checkpoint(
    dir: &Path,
    model: &Model,
    optim: &ModuleOptimizer,
    state: &TrainState,
) -> anyhow::Result<()> {
    replace_dir_atomic(dir, |fresh| {
        model.save_training_state(&fresh.join("model.bpk"))?;
        optim
            .save(fresh.join("optimizer.bpk"))
            .map_err(|e| anyhow::anyhow!("{}: cannot write optimizer state: {e}", fresh.display()))?;
        // last: its presence marks the folder complete
        std::fs::write(fresh.join("state.json"), serde_json::to_string_pretty(state)?)
            .with_context(|| format!("cannot write {}", fresh.join("state.json").display()))
    })
}

pub(crate) fn load_checkpoint(
    dir: &Path,
    model: &mut Model,
    optim: &mut ModuleOptimizer,
    profile: &Profile,
) -> anyhow::Result<TrainState> {
    let text = std::fs::read_to_string(dir.join("state.json"))?;
    let state: TrainState = serde_json::from_str(&text)
        .with_context(|| format!("{}: checkpoint state is not valid", dir.display()))?;
    model.load_training_state(&dir.join("model.bpk"))?;
    *optim = optimizer(profile)
        .load(dir.join("optimizer.bpk"))
        .map_err(|e| anyhow::anyhow!("{}: cannot read optimizer state: {e}", dir.display()))?;
    Ok(state)
}

/// Removes a finished run's checkpoint and any leftover of an interrupted swap.
pub(crate) fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    for leftover in swap_leftovers(dir) {
        let _ = std::fs::remove_dir_all(leftover);
    }
}

/// The temporary folders beside `dir` that [`replace_dir_atomic`] made for it.
fn swap_leftovers(dir: &Path) -> Vec<PathBuf> {
    let (Some(name), Some(parent)) = (dir.file_name(), dir.parent()) else { return Vec::new() };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

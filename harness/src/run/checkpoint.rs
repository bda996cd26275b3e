//! Checkpoints of an unfinished run: model record, optimiser state and progress, swapped in
//! whole so that an interruption never leaves a half-written one.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::optim::ModuleOptimizer;
use vpbench_models::Model;

use crate::atomic::write_atomic;
use crate::experiment::Profile;
use crate::recipe::optimizer;
use crate::train::TrainState;

pub(crate) fn existing_checkpoint(dir: &Path) -> Option<PathBuf> {
    let tmp = dir.with_extension("tmp");
    [dir.to_path_buf(), tmp]
        .into_iter()
        .find(|d| d.join("state.json").is_file())
}

/// Writes model, optimiser and progress into a fresh folder, then swaps it in.
pub(crate) fn save_checkpoint(
    dir: &Path,
    model: &Model,
    optim: &ModuleOptimizer,
    state: &TrainState,
) -> anyhow::Result<()> {
    let tmp = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    model.save_training_state(&tmp.join("model.bpk"))?;
    optim
        .save(tmp.join("optimizer.bpk"))
        .map_err(|e| anyhow::anyhow!("{}: cannot write optimizer state: {e}", tmp.display()))?;
    write_atomic(
        &tmp.join("state.json"),
        serde_json::to_string_pretty(state)?.as_bytes(),
    )?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir)
        .with_context(|| format!("cannot move checkpoint into {}", dir.display()))
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

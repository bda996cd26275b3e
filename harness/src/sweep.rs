//! A sweep: every model of an experiment under one profile, resumable.
//!
//! Each run lives in `<out>/runs/<run_id>/`; its `record.json` is written (atomically) when it
//! ends, and `<out>/results.csv` gets its row. A rerun skips runs with a record and resumes a
//! run that left a checkpoint.

use std::path::{Path, PathBuf};

use anyhow::Context;
use vpbench_datasets::DatasetKind;

use crate::data::{DataSource, prepare};
use crate::device::ComputeDevice;
use crate::experiment::Experiment;
use crate::progress::Progress;
use crate::record::{RunRecord, RunStatus, upsert_result_row};
use crate::train::{RunPlan, execute};

pub struct SweepOptions {
    pub experiment: Experiment,
    pub profile: String,
    pub source: DataSource,
    pub device: ComputeDevice,
    pub out_dir: PathBuf,
    /// Continue interrupted runs from their checkpoints.
    pub resume: bool,
    /// Run again the runs whose record says failed.
    pub retry_failed: bool,
    pub quiet: bool,
    /// The command line, for the records.
    pub command: String,
}

/// What a sweep leaves: the records in table order and the data they ran on.
pub struct SweepResult {
    pub records: Vec<RunRecord>,
    pub data: crate::data::DataSplit,
}

impl SweepResult {
    /// The folder of a run of this sweep.
    pub fn run_dir(out_dir: &Path, record: &RunRecord) -> PathBuf {
        out_dir.join("runs").join(&record.run_id)
    }
}

/// Runs (or reuses) every run of the sweep.
pub fn run_sweep(opts: &SweepOptions) -> anyhow::Result<SweepResult> {
    let exp = &opts.experiment;
    let profile = exp.profile(&opts.profile)?;
    let dataset = DatasetKind::parse(&exp.dataset)?;
    let progress = Progress::new(opts.quiet);
    let data = prepare(dataset, &opts.source, profile)?;
    progress.println(&format!(
        "table {}: {} models, profile {}, data {} ({} train / {} test clips), {} on {}",
        exp.table,
        exp.models.len(),
        opts.profile,
        data.info.label,
        data.info.train_clips,
        data.info.test_clips,
        opts.device.backend,
        opts.device.name
    ));
    let fingerprint = fnv1a(&format!(
        "{}|{}|{}",
        serde_json::to_string(profile)?,
        data.info.label,
        opts.device.name
    ));
    let mut records = Vec::new();
    for model in &exp.models {
        let name = vpbench_models::registry::lookup(model)?.name;
        let run_id = format!("{name}-{dataset}-{}-{fingerprint:08x}", opts.profile);
        let run_dir = opts.out_dir.join("runs").join(&run_id);
        let record_path = run_dir.join("record.json");
        if record_path.is_file() {
            let old = RunRecord::read(&record_path)?;
            let skip = old.is_finished() || !opts.retry_failed;
            if skip {
                progress.println(&format!("{run_id}: already recorded ({}), skipped", status_word(&old.status)));
                records.push(old);
                continue;
            }
        }
        let plan = RunPlan {
            run_id: run_id.clone(),
            model: name,
            profile_name: &opts.profile,
            profile,
            dataset,
            data: &data,
            device: &opts.device,
            run_dir: run_dir.clone(),
            resume: opts.resume,
            command: opts.command.clone(),
        };
        let record = execute(&plan, &progress);
        record.write(&record_path)?;
        upsert_result_row(&opts.out_dir.join("results.csv"), record.row())?;
        progress.println(&summary(&record));
        records.push(record);
    }
    Ok(SweepResult { records, data })
}

fn status_word(status: &RunStatus) -> &'static str {
    match status {
        RunStatus::Finished => "finished",
        RunStatus::Failed { .. } => "failed",
    }
}

fn summary(r: &RunRecord) -> String {
    match (&r.status, &r.test) {
        (RunStatus::Finished, Some(t)) => format!(
            "{}: finished in {:.1} s, MSE {:.3}, SSIM {:.4}, peak memory {:.1} MB",
            r.run_id,
            r.timing.total_s,
            t.authors.mse,
            t.authors.ssim,
            r.memory.headline_bytes().unwrap_or(0) as f64 / 1e6
        ),
        (RunStatus::Failed { reason }, _) => format!("{}: FAILED: {reason}", r.run_id),
        _ => format!("{}: finished without test metrics", r.run_id),
    }
}

/// Reads the records of a finished sweep folder (for figures without retraining).
pub fn read_records(out_dir: &Path) -> anyhow::Result<Vec<RunRecord>> {
    let runs = out_dir.join("runs");
    let mut records = Vec::new();
    for entry in std::fs::read_dir(&runs).with_context(|| format!("cannot list {}", runs.display()))? {
        let path = entry?.path().join("record.json");
        if path.is_file() {
            records.push(RunRecord::read(&path)?);
        }
    }
    Ok(records)
}

fn fnv1a(s: &str) -> u32 {
    s.bytes()
        .fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

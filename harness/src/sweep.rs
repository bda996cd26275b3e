//! A sweep: every model of an experiment under one profile, resumable.
//!
//! Each run lives in `<out>/runs/<run_id>/`; its `record.json` is written (atomically) when it
//! ends, and `<out>/results.csv` gets its row. A rerun skips runs with a record and resumes a
//! run that left a checkpoint. Runs can execute in a child process each, so that peak memory
//! is the run's own and a run killed by the system (out of memory) is recorded as failed
//! while the sweep goes on.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use vpbench_datasets::DatasetKind;

use crate::data::{DataSource, DataSplit, prepare};
use crate::device::ComputeDevice;
use crate::experiment::Experiment;
use crate::progress::Progress;
use crate::record::{RunRecord, RunStatus, upsert_result_row};
use crate::train::{RunPlan, execute, failed_record};

pub struct SweepOptions {
    pub experiment: Experiment,
    /// The experiment file (passed on to child processes).
    pub experiment_file: PathBuf,
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
    /// Run each model in a child process: this program with these leading arguments, to
    /// which the run's options are appended (see [`child_arguments`]). `None`: in process.
    pub isolate: Option<(PathBuf, Vec<String>)>,
    /// This process is such a child: stop if the sweep that started it ends.
    pub exit_with_parent: bool,
    /// Train the runs that have no record; when false, a missing record is an error
    /// (rendering from existing records only).
    pub train_missing: bool,
}

/// What a sweep leaves: the records in table order and the data they ran on.
pub struct SweepResult {
    pub records: Vec<RunRecord>,
    pub data: DataSplit,
    /// Run ids without a record, when the sweep was told not to train (`train_missing` off).
    pub missing: Vec<String>,
}

impl SweepResult {
    /// The folder of a run of this sweep.
    pub fn run_dir(out_dir: &Path, record: &RunRecord) -> PathBuf {
        out_dir.join("runs").join(&record.run_id)
    }
}

/// The train and test clips of the sweep's dataset and profile.
pub fn prepare_data(opts: &SweepOptions) -> anyhow::Result<DataSplit> {
    let exp = &opts.experiment;
    prepare(
        DatasetKind::parse(&exp.dataset)?,
        &opts.source,
        exp.profile(&opts.profile)?,
    )
}

/// Runs (or reuses) every run of the sweep.
pub fn run_sweep(opts: &SweepOptions) -> anyhow::Result<SweepResult> {
    let exp = &opts.experiment;
    let progress = Progress::new(opts.quiet);
    let data = prepare_data(opts)?;
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
    let (mut records, mut missing) = (Vec::new(), Vec::new());
    for model in &exp.models {
        let run_id = run_id(opts, model, &data)?;
        let record_path = opts.out_dir.join("runs").join(&run_id).join("record.json");
        if record_path.is_file() {
            let old = RunRecord::read(&record_path)?;
            if old.is_finished() || !opts.retry_failed {
                progress.println(&format!(
                    "{run_id}: already recorded ({}), skipped",
                    status_word(&old.status)
                ));
                records.push(old);
                continue;
            }
        }
        if !opts.train_missing {
            progress.println(&format!("{run_id}: no record in {}, missing", opts.out_dir.display()));
            missing.push(run_id);
            continue;
        }
        let record = match &opts.isolate {
            None => run_one(opts, model, &data, &progress)?,
            Some((program, prefix)) => run_in_child(opts, model, &data, program, prefix)?,
        };
        progress.println(&summary(&record));
        records.push(record);
    }
    if records.is_empty() && !missing.is_empty() {
        anyhow::bail!(
            "no record of any run in {} (missing: {}; run reproduce-table first)",
            opts.out_dir.display(),
            missing.join(", ")
        );
    }
    Ok(SweepResult { records, data, missing })
}

/// The id of a model's run: model, dataset, profile and a fingerprint of the profile's
/// settings, the data and the device, so that runs are shared only when they are the same.
pub fn run_id(opts: &SweepOptions, model: &str, data: &DataSplit) -> anyhow::Result<String> {
    let name = vpbench_models::registry::lookup(model)?.name;
    let profile = opts.experiment.profile(&opts.profile)?.for_model(name);
    let fingerprint = fnv1a(&format!(
        "{}|{}|{}",
        serde_json::to_string(&profile)?,
        data.info.label,
        opts.device.name
    ));
    Ok(format!(
        "{name}-{}-{}-{fingerprint:08x}",
        data.info.dataset, opts.profile
    ))
}

fn plan<'a>(
    opts: &'a SweepOptions,
    model: &str,
    data: &'a DataSplit,
) -> anyhow::Result<RunPlan<'a>> {
    let exp = &opts.experiment;
    let run_id = run_id(opts, model, data)?;
    let name = vpbench_models::registry::lookup(model)?.name;
    Ok(RunPlan {
        run_dir: opts.out_dir.join("runs").join(&run_id),
        run_id,
        model: name,
        profile_name: &opts.profile,
        profile: exp.profile(&opts.profile)?.for_model(name),
        dataset: DatasetKind::parse(&exp.dataset)?,
        data,
        device: &opts.device,
        resume: opts.resume,
        command: opts.command.clone(),
        exit_with_parent: opts.exit_with_parent,
    })
}

/// Trains and tests one model in this process and records it.
pub fn run_one(
    opts: &SweepOptions,
    model: &str,
    data: &DataSplit,
    progress: &Progress,
) -> anyhow::Result<RunRecord> {
    let plan = plan(opts, model, data)?;
    let record = execute(&plan, progress);
    store(opts, &record, &plan.run_dir)?;
    Ok(record)
}

fn store(opts: &SweepOptions, record: &RunRecord, run_dir: &Path) -> anyhow::Result<()> {
    record.write(&run_dir.join("record.json"))?;
    upsert_result_row(&opts.out_dir.join("results.csv"), record.row())
}

/// The options of a sweep as command-line arguments for a child process that runs `model`.
pub fn child_arguments(opts: &SweepOptions, model: &str) -> Vec<String> {
    let mut args = vec![
        "--config".into(),
        opts.experiment_file.display().to_string(),
        "--profile".into(),
        opts.profile.clone(),
        "--model".into(),
        model.to_string(),
        "--device".into(),
        opts.device.name.clone(),
        "--out".into(),
        opts.out_dir.display().to_string(),
        "--command".into(),
        opts.command.clone(),
    ];
    match &opts.source {
        DataSource::Synthetic => {}
        DataSource::Path(p) => args.extend(["--data".into(), p.display().to_string()]),
        DataSource::MnistDigits(p) => args.extend(["--mnist".into(), p.display().to_string()]),
    }
    if !opts.resume {
        args.push("--no-resume".into());
    }
    if opts.quiet {
        args.push("--quiet".into());
    }
    args
}

fn run_in_child(
    opts: &SweepOptions,
    model: &str,
    data: &DataSplit,
    program: &Path,
    prefix: &[String],
) -> anyhow::Result<RunRecord> {
    let plan = plan(opts, model, data)?;
    let run_id = &plan.run_id;
    let status = Command::new(program)
        .args(prefix)
        .args(child_arguments(opts, model))
        .status()
        .with_context(|| format!("cannot start {} for run {run_id}", program.display()))?;
    let record_path = plan.run_dir.join("record.json");
    if record_path.is_file() {
        return RunRecord::read(&record_path);
    }
    // The child ended without a record: it was killed, or could not set the run up.
    let reason = match status.code() {
        Some(code) => format!("run process exited with status {code} without a record"),
        None => {
            use std::os::unix::process::ExitStatusExt;
            let signal = status.signal().unwrap_or(0);
            let hint = if signal == 9 {
                " (SIGKILL: out of memory?)"
            } else {
                ""
            };
            format!("run process was killed by signal {signal}{hint}")
        }
    };
    let record = failed_record(&plan, reason);
    store(opts, &record, &plan.run_dir)?;
    Ok(record)
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
            "{}: finished in {:.1} s, MSE {:.3}, SSIM {:.4}, peak memory {}",
            r.run_id,
            r.timing.total_s,
            t.authors.mse,
            t.authors.ssim,
            r.memory.headline_text()
        ),
        (RunStatus::Failed { reason }, _) => format!("{}: FAILED: {reason}", r.run_id),
        _ => format!("{}: finished without test metrics", r.run_id),
    }
}

/// Reads the records of a finished sweep folder (for figures without retraining).
pub fn read_records(out_dir: &Path) -> anyhow::Result<Vec<RunRecord>> {
    let runs = out_dir.join("runs");
    let mut records = Vec::new();
    for entry in
        std::fs::read_dir(&runs).with_context(|| format!("cannot list {}", runs.display()))?
    {
        let path = entry?.path().join("record.json");
        if path.is_file() {
            records.push(RunRecord::read(&path)?);
        }
    }
    Ok(records)
}

fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

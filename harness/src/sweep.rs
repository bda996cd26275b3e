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
use vpbench_datasets::registry as datasets;

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::data::{DataSource, DataSplit, prepare};
use crate::device::ComputeDevice;
use crate::experiment::{Experiment, Profile};
use crate::isolation::{ChildStderr, run_isolated};
use crate::progress::Progress;
use crate::record::{RunRecord, RunStatus, upsert_result_row};
use crate::run::{RunPlan, execute, failed_record};

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
    /// Run each model in a child process: this program with these leading arguments, to
    /// which `--plan <run>/plan.json` is appended (see [`RunSpec`]). `None`: in process.
    pub isolate: Option<(PathBuf, Vec<String>)>,
    /// Train the runs that have no record; when false, a missing record is an error
    /// (rendering from existing records only).
    pub train_missing: bool,
    /// Runs per model, each from its own seed: the profile's, then the next ones.
    pub seeds: usize,
}

/// One run as the process that carries it out receives it: everything it needs, as one
/// serialisable plan (`<run>/plan.json` from a sweep, one file per model from
/// `--emit-slurm`), read by `run-one --plan FILE`. An option a run needs is added here only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSpec {
    /// Registry name.
    pub model: String,
    /// The dataset's short name (`mmnist`, `taxibj`, `kth`, `radar`).
    pub dataset: String,
    pub profile_name: String,
    /// The profile as it applies to this model (overrides applied).
    pub profile: Profile,
    pub source: DataSource,
    /// Device as given on the command line (`cpu`, `cuda:0`, `vulkan:cpu`, a list).
    pub device: String,
    /// The sweep's folder: the run lives in `<out_dir>/runs/<run_id>`.
    pub out_dir: PathBuf,
    /// The run's id; `None` where the plan was written before its data was read (a SLURM
    /// task computes it from its data, as [`run_id`] does for a sweep).
    pub run_id: Option<String>,
    pub resume: bool,
    pub quiet: bool,
    /// The command line that started the sweep, for the record.
    pub command: String,
    /// The seed of the model's initial weights and batch order where it is not the
    /// profile's (the further seeds of `--seeds`); the data is the profile's all the same.
    #[serde(default)]
    pub training_seed: Option<u64>,
}

impl RunSpec {
    /// The spec of `model`'s run in the sweep `opts` (no run id yet).
    pub fn of_sweep(opts: &SweepOptions, model: &str) -> anyhow::Result<Self> {
        let mut spec = Self::for_model(&opts.experiment, &opts.profile, model, opts.source.clone(), &opts.device.name, &opts.out_dir)?;
        spec.resume = opts.resume;
        spec.quiet = opts.quiet;
        spec.command = opts.command.clone();
        Ok(spec)
    }

    /// The spec of `model`'s run of `experiment` under profile `profile_name`, resuming, with
    /// progress bars, no run id yet and this process's command line.
    pub fn for_model(
        experiment: &Experiment,
        profile_name: &str,
        model: &str,
        source: DataSource,
        device: &str,
        out_dir: &Path,
    ) -> anyhow::Result<Self> {
        let name = vpbench_models::registry::lookup(model)?.name;
        Ok(Self {
            model: name.to_string(),
            dataset: experiment.dataset.clone(),
            profile_name: profile_name.to_string(),
            profile: experiment.profile(profile_name)?.for_model(name),
            source,
            device: device.to_string(),
            out_dir: out_dir.to_path_buf(),
            training_seed: None,
            run_id: None,
            resume: true,
            quiet: false,
            command: std::env::args().collect::<Vec<_>>().join(" "),
        })
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read run plan {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: not a run plan", path.display()))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        write_atomic(path, serde_json::to_string_pretty(self)?.as_bytes())
    }

    /// The data of this run.
    pub fn prepare_data(&self) -> anyhow::Result<DataSplit> {
        prepare(datasets::lookup(&self.dataset)?, &self.source, &self.profile)
    }
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
    prepare(datasets::lookup(&exp.dataset)?, &opts.source, exp.profile(&opts.profile)?)
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
        for extra_seed in 0..opts.seeds.max(1) as u64 {
            let mut spec = RunSpec::of_sweep(opts, model)?;
            spec.training_seed = (extra_seed > 0).then(|| spec.profile.seed + extra_seed);
            match sweep_one(opts, spec, &data, &progress)? {
                Ok(record) => records.push(record),
                Err(run_id) => missing.push(run_id),
            }
        }
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

/// One run of the sweep: its record if there is one (or when it could be made), else its id.
fn sweep_one(opts: &SweepOptions, mut spec: RunSpec, data: &DataSplit, progress: &Progress) -> anyhow::Result<Result<RunRecord, String>> {
    let run_id = run_id(&spec, data);
    spec.run_id = Some(run_id.clone());
    let record_path = opts.out_dir.join("runs").join(&run_id).join("record.json");
    if record_path.is_file() {
        let old = RunRecord::read(&record_path)?;
        if old.is_finished() || !opts.retry_failed {
            progress.println(&format!("{run_id}: already recorded ({}), skipped", status_word(&old.status)));
            return Ok(Ok(old));
        }
    }
    if !opts.train_missing {
        progress.println(&format!("{run_id}: no record in {}, missing", opts.out_dir.display()));
        return Ok(Err(run_id));
    }
    let record = match &opts.isolate {
        None => run_spec(&spec, data, &opts.device, progress, false)?,
        Some((program, prefix)) => run_in_child(&spec, data, &opts.device, program, prefix)?,
    };
    progress.println(&summary(&record));
    Ok(Ok(record))
}

/// The id of a run: model, dataset, profile and a fingerprint of the profile's settings, the
/// data and the device, so that runs are shared only when they are the same.
pub fn run_id(spec: &RunSpec, data: &DataSplit) -> String {
    let profile = serde_json::to_string(&spec.profile).expect("a profile serialises");
    let fingerprint = fnv1a(&format!("{profile}|{}|{}", data.info.label, spec.device));
    let id = format!("{}-{}-{}-{fingerprint:08x}", spec.model, data.info.dataset, spec.profile_name);
    match spec.training_seed {
        Some(seed) => format!("{id}-seed{seed}"),
        None => id,
    }
}

/// The run plan of `spec` (whose run id is set) on `data` and `device`.
fn plan<'a>(spec: &'a RunSpec, data: &'a DataSplit, device: &'a ComputeDevice, exit_with_parent: bool) -> anyhow::Result<RunPlan<'a>> {
    let run_id = spec.run_id.clone().context("the run plan has no run id")?;
    let mut profile = spec.profile.clone();
    profile.seed = spec.training_seed.unwrap_or(profile.seed);
    Ok(RunPlan {
        run_dir: spec.out_dir.join("runs").join(&run_id),
        run_id,
        model: &spec.model,
        profile_name: &spec.profile_name,
        profile,
        dataset: datasets::lookup(&spec.dataset)?,
        data,
        device,
        resume: spec.resume,
        command: spec.command.clone(),
        exit_with_parent,
    })
}

/// Trains and tests one run in this process and records it. `exit_with_parent`: this
/// process is a sweep's child (stop, leaving the checkpoint, if the sweep ends).
fn run_spec(spec: &RunSpec, data: &DataSplit, device: &ComputeDevice, progress: &Progress, exit_with_parent: bool) -> anyhow::Result<RunRecord> {
    let plan = plan(spec, data, device, exit_with_parent)?;
    let record = execute(&plan, progress);
    store(&spec.out_dir, &record, &plan.run_dir)?;
    Ok(record)
}

/// Trains and tests one model of the sweep in this process and records it.
pub fn run_one(opts: &SweepOptions, model: &str, data: &DataSplit, progress: &Progress) -> anyhow::Result<RunRecord> {
    let mut spec = RunSpec::of_sweep(opts, model)?;
    spec.run_id = Some(run_id(&spec, data));
    run_spec(&spec, data, &opts.device, progress, false)
}

/// `run-one --plan FILE`: the run a sweep (or a SLURM task) handed this process.
pub fn run_planned(plan_file: &Path) -> anyhow::Result<RunRecord> {
    let mut spec = RunSpec::read(plan_file)?;
    let data = spec.prepare_data()?;
    let device = ComputeDevice::parse(&spec.device).with_context(|| format!("{}: field 'device'", plan_file.display()))?;
    if spec.run_id.is_none() {
        spec.run_id = Some(run_id(&spec, &data));
    }
    run_spec(&spec, &data, &device, &Progress::new(spec.quiet), true)
}

fn store(out_dir: &Path, record: &RunRecord, run_dir: &Path) -> anyhow::Result<()> {
    record.write(&run_dir.join("record.json"))?;
    upsert_result_row(&out_dir.join("results.csv"), record.row())
}

/// One run in a child process (`isolation::run_isolated`): the plan goes into the run's
/// folder, the child writes the record; a child that dies without one is recorded failed.
fn run_in_child(spec: &RunSpec, data: &DataSplit, device: &ComputeDevice, program: &Path, prefix: &[String]) -> anyhow::Result<RunRecord> {
    let plan = plan(spec, data, device, false)?;
    let plan_file = plan.run_dir.join("plan.json");
    spec.write(&plan_file)?;
    let mut command = Command::new(program);
    command.args(prefix).arg("--plan").arg(&plan_file);
    let record_path = plan.run_dir.join("record.json");
    match run_isolated::<RunRecord>(command, &record_path, ChildStderr::Inherit)? {
        Ok(record) => Ok(record),
        Err(reason) => {
            let record = failed_record(&plan, format!("run {reason}"));
            store(&spec.out_dir, &record, &plan.run_dir)?;
            Ok(record)
        }
    }
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

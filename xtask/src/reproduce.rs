//! `cargo xtask reproduce-table N`.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;
use vpbench_harness::data::DataSource;
use vpbench_harness::device::ComputeDevice;
use vpbench_harness::experiment::{Experiment, Profile};
use vpbench_harness::sweep::{SweepOptions, SweepResult, run_planned, run_sweep};
use vpbench_reports::paper_table::render_table;

use crate::figures::render_figure;
use crate::slurm::{SlurmJob, emit};
use crate::workspace_root;

/// Where the frames come from and where the models run (shared by the tasks that sweep).
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// A dataset file or folder in its real format (Moving MNIST: the authors' .npy, or a
    /// folder with MNIST's train-images-idx3-ubyte[.gz]; KTH and radar: the authors' PNG
    /// folders). Without it: the dataset's built-in synthetic twin.
    #[arg(long, conflicts_with = "mnist")]
    pub data: Option<PathBuf>,
    /// A folder with MNIST's train-images-idx3-ubyte[.gz]: generate Moving MNIST from it.
    #[arg(long)]
    pub mnist: Option<PathBuf>,
    /// cpu (flex), cuda:N / gpu:N (CUDA in a cuda build, else Vulkan), vulkan:N, or vulkan:cpu
    /// (lavapipe: the GPU kernels on the CPU); a list (`--devices cuda:0,cuda:1`) trains data
    /// parallel over those devices.
    #[arg(long, visible_alias = "devices", default_value = "cpu")]
    pub device: String,
    /// Runs per model, each from its own seed (the profile's, then the next ones); tables
    /// show the mean and standard deviation over them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
}

impl SourceArgs {
    pub fn source(&self) -> anyhow::Result<DataSource> {
        vpbench_harness::data::source_from_args(self.data.clone(), self.mnist.clone())
    }
    pub fn device(&self) -> anyhow::Result<ComputeDevice> {
        ComputeDevice::parse(&self.device)
    }
}

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// The paper's table number.
    pub table: u32,
    /// smoke (seconds), quick (minutes on a CPU; Table 3 in about 2) or paper (the paper's settings).
    #[arg(long, default_value = "quick")]
    pub profile: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output folder (default: out/<dataset>-<profile>, shared by the tables of a dataset).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Experiment file (default: configs/table<N>.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Start interrupted runs over instead of continuing from their checkpoints.
    #[arg(long)]
    pub no_resume: bool,
    /// Run again the runs recorded as failed.
    #[arg(long)]
    pub retry_failed: bool,
    /// No progress bars; one line per run.
    #[arg(long, short)]
    pub quiet: bool,
    /// Train nothing: render the table and figures from the records already in the output
    /// folder; runs without one are listed as missing and left out of the table.
    #[arg(long)]
    pub render_only: bool,
    /// Write the sweep as a SLURM job array into DIR (one model per task, one GPU each) with
    /// a render job and a submit script, instead of running it here.
    #[arg(long, value_name = "DIR")]
    pub emit_slurm: Option<PathBuf>,
}

pub fn run(args: &ReproduceArgs) -> anyhow::Result<()> {
    let config = args
        .config
        .clone()
        .unwrap_or_else(|| workspace_root().join(format!("configs/table{}.toml", args.table)));
    if !config.is_file() {
        bail!(
            "table {}: no experiment file {} (tables available: {})",
            args.table,
            config.display(),
            available_tables().join(", ")
        );
    }
    let experiment = Experiment::load(&config)?;
    let profile = experiment.profile(&args.profile)?.clone();
    // Tables of one dataset share a folder, so that they share the runs of a profile.
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("out/{}-{}", experiment.dataset, args.profile)));
    if let Some(dir) = &args.emit_slurm {
        if args.source.seeds > 1 {
            bail!("--emit-slurm writes one task per model and seed 1 only; --seeds {} is not supported with it", args.source.seeds);
        }
        let mut source_args = vec!["--device".to_string(), args.source.device.clone()];
        for (flag, path) in [
            ("--data", &args.source.data),
            ("--mnist", &args.source.mnist),
        ] {
            if let Some(p) = path {
                source_args.push(flag.into());
                source_args.push(std::path::absolute(p)?.display().to_string());
            }
        }
        let job = SlurmJob {
            experiment: &experiment,
            config: &config,
            profile: &args.profile,
            source_args,
            source: args.source.source()?,
            device: args.source.device.clone(),
            out_dir: &out_dir,
            command: std::env::args().collect::<Vec<_>>().join(" "),
        };
        println!("wrote (submit with the last one):");
        for path in emit(&job, dir)? {
            println!("  {}", path.display());
        }
        return Ok(());
    }
    let options = SweepOptions {
        experiment: experiment.clone(),
        profile: args.profile.clone(),
        source: args.source.source()?,
        device: args.source.device()?,
        out_dir: out_dir.clone(),
        resume: !args.no_resume,
        retry_failed: args.retry_failed,
        quiet: args.quiet,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        // One process per run: memory peaks are the run's own, and a run the system kills
        // (out of memory) is recorded as failed while the sweep goes on.
        isolate: Some((std::env::current_exe()?, vec!["run-one".to_string()])),
        train_missing: !args.render_only,
        seeds: args.source.seeds as usize,
    };
    let sweep = run_sweep(&options)?;
    let written = render_outputs(&sweep, &experiment, &profile, &out_dir)?;
    println!("wrote:");
    for path in written {
        println!("  {}", path.display());
    }
    if !sweep.missing.is_empty() {
        println!("missing (no record, not in the table): {}", sweep.missing.join(", "));
    }
    Ok(())
}

/// The table and figures of an experiment from its sweep's records.
fn render_outputs(
    sweep: &SweepResult,
    experiment: &Experiment,
    profile: &Profile,
    out_dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let out_dir = out_dir.to_path_buf();
    let profile = profile.clone();
    let (mut written, table) =
        render_table(&sweep.records, experiment, &profile.description, &out_dir)?;
    let caption = table.provenance[..4].to_vec();
    for figure in &experiment.figures {
        written.extend(render_figure(
            figure,
            sweep,
            experiment,
            &profile,
            &out_dir,
            caption.clone(),
        )?);
    }
    Ok(written)
}

/// The runs already recorded under an output root: what `cargo xtask figures` renders again
/// and `cargo xtask report` puts on a page, neither training anything.
#[derive(Args, Debug)]
pub struct RecordedRunsArgs {
    /// The profile whose runs to use.
    #[arg(long, default_value = "quick")]
    pub profile: String,
    /// The data and device the runs used (as given to reproduce-table).
    #[command(flatten)]
    pub source: SourceArgs,
    /// Root holding the sweep folders (default: out, with out/<dataset>-<profile> inside).
    #[arg(long, default_value = "out")]
    pub out_root: PathBuf,
}

pub fn figures(args: &RecordedRunsArgs) -> anyhow::Result<bool> {
    let mut rendered = 0;
    for existing in existing_sweeps(&args.profile, &args.source, &args.out_root)? {
        let table = existing.experiment.table;
        match &existing.sweep {
            Ok(sweep) => {
                for path in render_outputs(sweep, &existing.experiment, &existing.profile, &existing.out_dir)? {
                    println!("table {table}: wrote {}", path.display());
                }
                if !sweep.missing.is_empty() {
                    println!("table {table}: missing (no record): {}", sweep.missing.join(", "));
                }
                rendered += 1;
            }
            Err(e) => println!("table {table}: skipped: {e:#}"),
        }
    }
    println!("figures: {rendered} tables rendered from existing records");
    Ok(rendered > 0)
}

/// A table's sweep as its records under the output root hold it (nothing trained).
pub struct ExistingSweep {
    pub experiment: Experiment,
    pub profile: Profile,
    pub out_dir: PathBuf,
    pub sweep: anyhow::Result<SweepResult>,
}

/// Every table that defines `profile`, in table order, with its records in
/// `<out_root>/<dataset>-<profile>`.
pub fn existing_sweeps(profile: &str, source: &SourceArgs, out_root: &Path) -> anyhow::Result<Vec<ExistingSweep>> {
    let mut tables: Vec<u32> = available_tables().iter().filter_map(|t| t.parse().ok()).collect();
    tables.sort();
    let mut found = Vec::new();
    for table in tables {
        let experiment = Experiment::load(&workspace_root().join(format!("configs/table{table}.toml")))?;
        let Ok(profile_settings) = experiment.profile(profile).cloned() else {
            continue;
        };
        let out_dir = out_root.join(format!("{}-{profile}", experiment.dataset));
        let sweep = recorded_sweep(&experiment, profile, source, &out_dir);
        found.push(ExistingSweep { experiment, profile: profile_settings, out_dir, sweep });
    }
    Ok(found)
}

/// The records of `experiment`'s runs in `profile` under `out_dir`, nothing trained; an
/// error where there is none.
pub fn recorded_sweep(experiment: &Experiment, profile: &str, source: &SourceArgs, out_dir: &Path) -> anyhow::Result<SweepResult> {
    let options = SweepOptions {
        experiment: experiment.clone(),
        profile: profile.to_string(),
        source: source.source()?,
        device: source.device()?,
        out_dir: out_dir.to_path_buf(),
        resume: false,
        retry_failed: false,
        quiet: true,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        isolate: None,
        train_missing: false,
        seeds: source.seeds as usize,
    };
    run_sweep(&options)
}

fn available_tables() -> Vec<String> {
    let mut tables: Vec<String> = std::fs::read_dir(workspace_root().join("configs"))
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(
                name.strip_prefix("table")?
                    .strip_suffix(".toml")?
                    .to_string(),
            )
        })
        .collect();
    tables.sort();
    tables
}

/// `cargo xtask run-one`: one run of a sweep in a process of its own, from the run plan that
/// `reproduce-table` (in `<run>/plan.json`) or `--emit-slurm` wrote.
#[derive(Args, Debug)]
pub struct RunOneArgs {
    /// The run plan (JSON: model, profile as applied, data source, device, output folder).
    #[arg(long)]
    pub plan: PathBuf,
}

pub fn run_one_task(args: &RunOneArgs) -> anyhow::Result<()> {
    run_planned(&args.plan)?;
    Ok(())
}

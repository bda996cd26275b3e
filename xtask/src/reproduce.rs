//! `cargo xtask reproduce-table N`.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use vpbench_harness::data::DataSource;
use vpbench_harness::device::ComputeDevice;
use vpbench_harness::experiment::Experiment;
use vpbench_harness::sweep::{SweepOptions, run_sweep};

use crate::workspace_root;

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// The paper's table number.
    pub table: u32,
    /// smoke (seconds), quick (about 10 minutes on a CPU) or paper (the paper's settings).
    #[arg(long, default_value = "quick")]
    pub profile: String,
    /// A dataset file or folder in its real format (Moving MNIST: the authors' .npy, or a
    /// folder with MNIST's train-images-idx3-ubyte[.gz]). Without it: built-in synthetic data.
    #[arg(long, conflicts_with = "mnist")]
    pub data: Option<PathBuf>,
    /// A folder with MNIST's train-images-idx3-ubyte[.gz]: generate Moving MNIST from it.
    #[arg(long)]
    pub mnist: Option<PathBuf>,
    /// cpu, or cuda:N on a build with a GPU backend.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Output folder (default: out/table<N>-<profile>).
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
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("out/table{}-{}", args.table, args.profile)));
    let options = SweepOptions {
        experiment: experiment.clone(),
        profile: args.profile.clone(),
        source: DataSource::from_args(args.data.clone(), args.mnist.clone())?,
        device: ComputeDevice::parse(&args.device)?,
        out_dir: out_dir.clone(),
        resume: !args.no_resume,
        retry_failed: args.retry_failed,
        quiet: args.quiet,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let records = run_sweep(&options)?;
    let written = match experiment.table {
        3 => vpbench_reports::table3::render(
            &records,
            &experiment.paper,
            &format!("Table 3: {}", experiment.title),
            &profile.description,
            &out_dir,
        )?,
        n => bail!("table {n}: no renderer in this build"),
    };
    println!("wrote:");
    for path in written {
        println!("  {}", path.display());
    }
    Ok(())
}

fn available_tables() -> Vec<String> {
    let mut tables: Vec<String> = std::fs::read_dir(workspace_root().join("configs"))
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_prefix("table")?.strip_suffix(".toml")?.to_string())
        })
        .collect();
    tables.sort();
    tables
}

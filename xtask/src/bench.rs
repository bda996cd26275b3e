//! `cargo xtask bench`: training and evaluation throughput, peak memory and achieved MAC rate
//! of each model of a table at a profile's configuration, written under `benchmarks/results/`.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use vpbench_harness::atomic::write_atomic;
use vpbench_harness::isolation::{ChildStderr, run_isolated};
use vpbench_harness::bench::{BenchResult, BenchSteps, bench_model, peak_matmul_macs_per_s};
use vpbench_harness::device::ComputeDevice;
use vpbench_harness::experiment::{Experiment, Profile};
use vpbench_harness::host::HostInfo;
use vpbench_harness::panic::panic_message;
use vpbench_harness::progress::Progress;
use vpbench_models::registry;

use crate::bench_pytorch::{self, PytorchSetup, PytorchSide, Rounds, median_index};
use crate::workspace_root;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The table whose models and profiles are benchmarked (configs/table<N>.toml).
    #[arg(long, default_value_t = 3)]
    pub table: u32,
    /// Profile giving frame size, sequence, hidden channels and batch (`paper`: the paper's).
    #[arg(long, default_value = "paper")]
    pub profile: String,
    /// Comma-separated registry names (default: the table's models).
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Sequences per step (default: the profile's batch).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Timed steps per model; the median is reported.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Untimed steps first (allocation, autotuning, caches).
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// cpu (flex), cuda:N / gpu:N (CUDA in a cuda build, else Vulkan), vulkan:N, or vulkan:cpu
    /// (lavapipe: the GPU kernels on the CPU); see README, GPU.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Folder for the result files.
    #[arg(long, default_value = "benchmarks/results")]
    pub out: PathBuf,
    /// Base name of the result files (default: bench-table<N>-<profile>-<device>).
    #[arg(long)]
    pub name: Option<String>,
    /// Side of the square matrix product that measures the device's peak MAC rate
    /// (default: 512 on CPU, 4096 on a GPU).
    #[arg(long)]
    pub matmul_size: Option<usize>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// Run the models here, one after another, instead of each in its own process (memory
    /// peaks then include what earlier models left in the allocator).
    #[arg(long)]
    pub in_process: bool,
    /// Time the authors' own PyTorch code beside each model, in this run: the path of a
    /// checkout of their repository (mazhf/MS-RNN). PyTorch: `bash benchmarks/install-pytorch.sh`.
    #[arg(long, value_name = "MS_RNN_DIR")]
    pub against_pytorch: Option<PathBuf>,
    /// The Python with torch for --against-pytorch (default: .venv-torch/bin/python).
    #[arg(long, requires = "against_pytorch")]
    pub python: Option<PathBuf>,
    /// With --against-pytorch: rounds per model, each timing vpbench and then the authors'
    /// code; the ratio reported is the median of the rounds' ratios.
    #[arg(long, default_value_t = 1, requires = "against_pytorch", value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// (internal) bench the single model given and write its result as JSON to this file.
    #[arg(long, hide = true)]
    pub child_output: Option<PathBuf>,
}

#[derive(Serialize)]
struct BenchReport {
    command: String,
    table: u32,
    profile: String,
    profile_description: String,
    device: String,
    backend: String,
    /// The adapter and driver the GPU backend opened (empty on flex).
    adapter: String,
    host: HostInfo,
    steps: BenchSteps,
    matmul_size: usize,
    /// `None` where it cannot be measured: lavapipe crashes compiling CubeCL's matmul kernel
    /// (benchmarks/lavapipe-matmul-crash.md).
    peak_matmul_macs_per_s: Option<f64>,
    results: Vec<BenchResult>,
    /// The authors' PyTorch code at the same settings (with --against-pytorch): each model's
    /// median round.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pytorch: Vec<PytorchSide>,
    /// Both sides' step times round by round (with --against-pytorch).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pytorch_rounds: Vec<Rounds>,
}

/// The profile (with `--batch`) and the models a bench runs, checked.
fn bench_plan(args: &BenchArgs) -> anyhow::Result<(Profile, Vec<String>)> {
    let config = workspace_root().join(format!("configs/table{}.toml", args.table));
    let experiment = Experiment::load(&config)?;
    let mut profile = experiment.profile(&args.profile)?.clone();
    if let Some(b) = args.batch {
        profile.batch = b;
    }
    let models = if args.models.is_empty() { experiment.models.clone() } else { args.models.clone() };
    for m in &models {
        registry::lookup(m).map_err(|e| anyhow::anyhow!("--models: {e}"))?;
    }
    if args.steps == 0 {
        anyhow::bail!("--steps must be at least 1");
    }
    Ok((profile, models))
}

pub fn run(args: &BenchArgs) -> anyhow::Result<bool> {
    let (profile, models) = bench_plan(args)?;
    let device = ComputeDevice::parse(&args.device)?;
    let steps = BenchSteps { warmup: args.warmup, timed: args.steps };
    if let Some(path) = &args.child_output {
        // a child benches its one model here and never starts children of its own
        let [m] = &models[..] else {
            anyhow::bail!("--child-output takes exactly one model, got {}", models.len());
        };
        let result = bench_model(m, &profile.for_model(m), &device, steps)?;
        write_atomic(path, serde_json::to_string(&result)?.as_bytes())?;
        return Ok(true);
    }
    let matmul_size = args.matmul_size.unwrap_or(if device.is_gpu_card() { 4096 } else { 512 });
    let peak = if device.is_lavapipe() {
        println!("bench: the matmul peak is not measured on lavapipe (it crashes compiling CubeCL's matmul kernel)");
        None
    } else {
        Some(peak_matmul_macs_per_s(&device.device, matmul_size)?)
    };
    let (results, pytorch, pytorch_rounds) = measure_models(args, &profile, &models, &device, steps)?;
    let report = BenchReport {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        table: args.table,
        profile: args.profile.clone(),
        profile_description: profile.description.clone(),
        device: device.name.clone(),
        backend: device.backend.clone(),
        adapter: device.adapter_label(),
        host: HostInfo::collect(),
        steps,
        matmul_size,
        peak_matmul_macs_per_s: peak,
        results,
        pytorch,
        pytorch_rounds,
    };
    write_report(args, &device, &report)?;
    Ok(report.results.iter().all(|r| r.error.is_empty()))
}

/// Each model in turn (in its own process unless `--in-process`), and the authors' PyTorch
/// code beside it with `--against-pytorch`, `--rounds` times.
fn measure_models(
    args: &BenchArgs,
    profile: &Profile,
    models: &[String],
    device: &ComputeDevice,
    steps: BenchSteps,
) -> anyhow::Result<(Vec<BenchResult>, Vec<PytorchSide>, Vec<Rounds>)> {
    let pytorch = match &args.against_pytorch {
        Some(dir) => Some(PytorchSetup::new(&workspace_root(), args.python.clone(), dir)?),
        None => None,
    };
    let rounds = if pytorch.is_some() { args.rounds as usize } else { 1 };
    let progress = Progress::new(args.quiet);
    let bar = progress.bar((models.len() * rounds) as u64, "bench");
    let (mut results, mut pytorch_sides, mut all_rounds) = (Vec::new(), Vec::new(), Vec::new());
    for m in models {
        let p = profile.for_model(m);
        let (mut ours, mut theirs, mut times) = (Vec::new(), Vec::new(), Rounds::new(m));
        for round in 1..=rounds {
            bar.set_message(if rounds > 1 { format!("{m} (round {round}/{rounds})") } else { m.clone() });
            let result = measure_one(args, m, &p, device, steps);
            progress.println(&summary_line(&result));
            if let Some(setup) = &pytorch {
                let side = bench_pytorch::measure(setup, m, &p, steps);
                progress.println(&pytorch_line(&side));
                times.push(&result, &side);
                theirs.push(side);
            }
            ours.push(result);
            bar.inc(1);
        }
        let ours_train: Vec<f64> = ours.iter().map(|r| if r.error.is_empty() { r.train_step_median_s } else { f64::NAN }).collect();
        results.push(ours.swap_remove(median_index(&ours_train)));
        if pytorch.is_some() {
            let theirs_train: Vec<f64> = theirs.iter().map(|s| s.train_step_median_s.unwrap_or(f64::NAN)).collect();
            pytorch_sides.push(theirs.swap_remove(median_index(&theirs_train)));
            all_rounds.push(times);
        }
    }
    bar.finish_and_clear();
    Ok((results, pytorch_sides, all_rounds))
}

/// One timing of one model: in a child process unless `--in-process`; a failure becomes a
/// failed result.
fn measure_one(args: &BenchArgs, m: &str, p: &Profile, device: &ComputeDevice, steps: BenchSteps) -> BenchResult {
    let result = if args.in_process {
        catch_unwind(AssertUnwindSafe(|| bench_model(m, p, device, steps)))
            .map_err(|panic| anyhow::anyhow!("{}", panic_message(panic.as_ref())))
            .and_then(|r| r)
    } else {
        bench_in_child(args, m)
    };
    result.unwrap_or_else(|e| failed(m, p, e))
}

/// The report as JSON, CSV and Markdown, each written atomically.
fn write_report(args: &BenchArgs, device: &ComputeDevice, report: &BenchReport) -> anyhow::Result<()> {
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("bench-table{}-{}-{}", args.table, args.profile, device.name.replace(':', "")));
    std::fs::create_dir_all(&args.out)?;
    let json = args.out.join(format!("{name}.json"));
    write_atomic(&json, serde_json::to_string_pretty(report)?.as_bytes())?;
    let csv = args.out.join(format!("{name}.csv"));
    write_atomic(&csv, to_csv(report)?.as_bytes())?;
    let md = args.out.join(format!("{name}.md"));
    write_atomic(&md, to_markdown(report).as_bytes())?;
    println!("wrote:\n  {}\n  {}\n  {}", json.display(), csv.display(), md.display());
    Ok(())
}

/// One model in a process of its own (`isolation::run_isolated`), so that its memory peak
/// is its own and a crash or an out-of-memory kill fails only this model.
fn bench_in_child(args: &BenchArgs, model: &str) -> anyhow::Result<BenchResult> {
    let output = std::env::temp_dir().join(format!("vpbench-bench-{}-{model}.json", std::process::id()));
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command.args(["bench", "--table", &args.table.to_string(), "--profile", &args.profile, "--models", model]);
    command.args(["--steps", &args.steps.to_string(), "--warmup", &args.warmup.to_string()]);
    command.args(["--device", &args.device, "--quiet"]);
    if let Some(b) = args.batch {
        command.args(["--batch", &b.to_string()]);
    }
    command.arg("--child-output").arg(&output);
    let result = run_isolated(command, &output, ChildStderr::Capture)?;
    let _ = std::fs::remove_file(&output);
    result.map_err(|reason| anyhow::anyhow!("bench {reason}"))
}

fn failed(
    model: &str,
    profile: &vpbench_harness::experiment::Profile,
    e: anyhow::Error,
) -> BenchResult {
    BenchResult {
        model: model.to_string(),
        paper_name: registry::lookup(model)
            .map_or(model, |e| e.paper_name)
            .to_string(),
        config: profile.model_config(),
        batch: profile.batch,
        params: 0,
        forward_macs_per_sequence: 0,
        train_step_median_s: f64::NAN,
        train_sequences_per_s: f64::NAN,
        eval_step_median_s: f64::NAN,
        eval_sequences_per_s: f64::NAN,
        eval_macs_per_s: f64::NAN,
        train_macs_per_s: f64::NAN,
        memory: Default::default(),
        analytic_memory: Default::default(),
        burn_features: Vec::new(),
        train_joules_per_sequence: None,
        error: format!("{e:#}"),
    }
}

/// `autotune, fusion`, or what stands for none.
fn features_text(features: &[String]) -> String {
    if features.is_empty() { "none (flex: CPU kernels)".into() } else { features.join(", ") }
}

fn summary_line(r: &BenchResult) -> String {
    if !r.error.is_empty() {
        return format!("{}: failed: {}", r.model, r.error);
    }
    format!(
        "{}: train {:.2} seq/s, eval {:.2} seq/s, peak memory {}",
        r.model,
        r.train_sequences_per_s,
        r.eval_sequences_per_s,
        megabytes(r)
    )
}

fn pytorch_line(side: &PytorchSide) -> String {
    if !side.error.is_empty() {
        return format!("{} (PyTorch): not measured: {}", side.model, side.error);
    }
    let fmt = |v: Option<f64>| v.map_or("not measured".into(), |v| format!("{v:.3} s"));
    format!(
        "{} (PyTorch {}): train step {}, eval step {}",
        side.model,
        side.authors_name,
        fmt(side.train_step_median_s),
        fmt(side.eval_step_median_s)
    )
}

fn megabytes(r: &BenchResult) -> String {
    r.memory.headline_text()
}

fn to_csv(report: &BenchReport) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "model",
        "device",
        "backend",
        "batch",
        "frame_size",
        "seq_len",
        "hidden",
        "params",
        "forward_macs_per_sequence",
        "train_step_median_s",
        "train_sequences_per_s",
        "eval_step_median_s",
        "eval_sequences_per_s",
        "eval_macs_per_s",
        "train_macs_per_s",
        "peak_matmul_macs_per_s",
        "memory_headline_bytes",
        "gpu_process_peak_bytes",
        "gpu_device_peak_bytes",
        "pool_peak_bytes",
        "pool_in_use_peak_bytes",
        "pool_reserved_peak_bytes",
        "process_peak_rss_bytes",
        "memory_measured_as",
        "analytic_memory_bytes",
        "burn_features",
        "train_joules_per_sequence",
        "commit",
        "error",
    ])?;
    let opt = |v: Option<u64>| v.map_or(String::new(), |b| b.to_string());
    for r in &report.results {
        w.write_record([
            r.model.clone(),
            report.device.clone(),
            report.backend.clone(),
            r.batch.to_string(),
            r.config.height.to_string(),
            r.config.seq_len().to_string(),
            r.config.hidden.to_string(),
            r.params.to_string(),
            r.forward_macs_per_sequence.to_string(),
            r.train_step_median_s.to_string(),
            r.train_sequences_per_s.to_string(),
            r.eval_step_median_s.to_string(),
            r.eval_sequences_per_s.to_string(),
            r.eval_macs_per_s.to_string(),
            r.train_macs_per_s.to_string(),
            report.peak_matmul_macs_per_s.map_or(String::new(), |p| p.to_string()),
            opt(r.memory.headline_bytes()),
            opt(r.memory.gpu_process_peak_bytes),
            opt(r.memory.gpu_device_peak_bytes),
            opt(r.memory.pool_peak_bytes),
            opt(r.memory.pool_in_use_peak_bytes),
            opt(r.memory.pool_reserved_peak_bytes),
            opt(r.memory.process_peak_rss_bytes),
            r.memory.measured_as.clone(),
            r.analytic_memory.total_bytes.to_string(),
            features_text(&r.burn_features),
            r.train_joules_per_sequence.map_or(String::new(), |j| j.to_string()),
            report.host.git_commit.clone(),
            r.error.clone(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

fn to_markdown(report: &BenchReport) -> String {
    let mut s = format!(
        "# Benchmark: table {} models, profile {}\n\n",
        report.table, report.profile
    );
    let h = &report.host;
    let _ = writeln!(s, "- Command: `{}`", report.command);
    let _ = writeln!(
        s,
        "- Profile: {} ({})",
        report.profile, report.profile_description
    );
    let _ = writeln!(
        s,
        "- Device: {}; backend: {}; adapter: {}",
        report.device,
        report.backend,
        if report.adapter.is_empty() { "none (CPU)" } else { &report.adapter }
    );
    let _ = writeln!(
        s,
        "- Host: {} ({} cores), GPU: {}",
        h.cpu, h.cpu_cores, h.gpu
    );
    let _ = writeln!(s, "- Commit: {}", h.git_commit);
    let features = report.results.iter().find(|r| r.error.is_empty()).map(|r| features_text(&r.burn_features));
    let _ = writeln!(s, "- burn features on this device: {}", features.unwrap_or_else(|| "not known (no model ran)".into()));
    let _ = writeln!(
        s,
        "- Steps: {} warm-up (kernel compilation and, on GPU backends, burn's autotuning of every shape happen there, untimed), median of {} timed (each ended by a device sync); device peak: {}",
        report.steps.warmup,
        report.steps.timed,
        match report.peak_matmul_macs_per_s {
            Some(p) => format!(
                "{:.1} GMAC/s ({}x{} matmul, median)",
                p / 1e9,
                report.matmul_size,
                report.matmul_size
            ),
            None => "not measured (no matmul on lavapipe)".into(),
        }
    );
    let _ = writeln!(
        s,
        "- Train MAC rate counts a training step as 3 forward passes; memory: the run's headline peak (on a GPU: NVML's process peak, else the device's rise, else burn's allocator in-use peak read after each backward pass; on a CPU: peak RSS; never 0 for not measured); the CSV has every figure, labelled\n"
    );
    s.push_str("| Model | Batch | Train seq/s | Eval seq/s | Peak memory | Allocator in-use peak | Analytic memory (4 M_par + 2 M_out) | Train J/seq (NVML) | Fwd GMAC/seq | Eval GMAC/s | Train GMAC/s | Eval % of matmul peak |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in &report.results {
        if !r.error.is_empty() {
            let _ = writeln!(
                s,
                "| {} | {} | failed: {} | | | | | | | | | |",
                r.paper_name, r.batch, r.error
            );
            continue;
        }
        let _ = writeln!(
            s,
            "| {} | {} | {:.3} | {:.3} | {} | {} | {:.1} MB | {} | {:.2} | {:.1} | {:.1} | {} |",
            r.paper_name,
            r.batch,
            r.train_sequences_per_s,
            r.eval_sequences_per_s,
            megabytes(r),
            r.memory.pool_in_use_peak_bytes.map_or("not measured".into(), |b| format!("{:.1} MB", b as f64 / 1e6)),
            r.analytic_memory.total_bytes as f64 / 1e6,
            r.train_joules_per_sequence.map_or("not measured".into(), |j| format!("{j:.2}")),
            r.forward_macs_per_sequence as f64 / 1e9,
            r.eval_macs_per_s / 1e9,
            r.train_macs_per_s / 1e9,
            report
                .peak_matmul_macs_per_s
                .map_or("not measured".into(), |p| format!("{:.1}%", 100.0 * r.eval_macs_per_s / p))
        );
    }
    if !report.pytorch.is_empty() {
        s.push_str(&bench_pytorch::markdown(&report.results, &report.pytorch, &report.pytorch_rounds));
    }
    s
}

//! `cargo xtask <task>`: the project's reproducible jobs.

mod bench;
mod bench_pytorch;
mod build_gpu;
mod ci_regress;
mod evaluate;
mod figures;
mod report;
mod reproduce;
mod root;
mod slurm;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask", about = "vpbench project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// Train and evaluate the models of one of the paper's tables and render it beside the
    /// paper's numbers (Markdown, CSV, LaTeX) with its figure.
    ReproduceTable(reproduce::ReproduceArgs),
    /// Run the smoke profile with fixed seeds and compare with the committed baseline.
    CiRegress(ci_regress::CiRegressArgs),
    /// Render every table and figure again from existing run records, without training.
    Figures(reproduce::RecordedRunsArgs),
    /// Score a table's trained models on changed test sets: longer horizons, perturbed
    /// inputs, another dataset of the same geometry (no training).
    Evaluate(evaluate::EvaluateArgs),
    /// One self-contained index.html per output folder: every table beside the paper's
    /// numbers, every figure inline, the provenance of each number, links to the records.
    Report(reproduce::RecordedRunsArgs),
    /// Training and evaluation throughput, peak memory and MAC rate of each model of a table,
    /// written under benchmarks/results/.
    Bench(bench::BenchArgs),
    /// Build the binary to carry to a GPU machine: burn's CUDA (LLVM from PyPI, offline) and
    /// Vulkan backends, stripped and xz-compressed under dist/.
    BuildGpu(build_gpu::BuildGpuArgs),
    /// The golden check (as `vpbench verify-golden`), so that the one carried GPU binary
    /// runs it too.
    VerifyGolden(vpbench_harness::commands::verify_golden::VerifyGoldenArgs),
    /// One run of a sweep in its own process (started by reproduce-table).
    #[command(hide = true)]
    RunOne(reproduce::RunOneArgs),
}

/// The folder holding `configs/` (see [`root::root`]); exits with the reason where there is
/// none.
pub fn workspace_root() -> PathBuf {
    root::root().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    })
}

fn main() -> ExitCode {
    vpbench_harness::libdevice::prepare_at_start();
    vpbench_kernels::allocator::keep_freed_memory();
    let cli = Cli::parse();
    if let Err(e) = vpbench_kernels::threads::allow_workers_awake().and(vpbench_kernels::simd::requested_level().map(drop)) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if matches!(cli.task, Task::CiRegress(_)) {
        // one reduction order everywhere: see ci_regress::THREADS
        rayon::ThreadPoolBuilder::new().num_threads(ci_regress::THREADS).build_global().expect("the compute pool starts once");
    }
    let result = vpbench_kernels::threads::run_on_compute_threads(|| match cli.task {
        Task::ReproduceTable(args) => reproduce::run(&args).map(|()| true),
        Task::CiRegress(args) => ci_regress::run(&args),
        Task::Figures(args) => reproduce::figures(&args),
        Task::Report(args) => report::run(&args),
        Task::Evaluate(args) => evaluate::run(&args),
        Task::Bench(args) => bench::run(&args),
        Task::BuildGpu(args) => build_gpu::run(&args),
        Task::VerifyGolden(args) => vpbench_harness::commands::verify_golden::run(&args),
        Task::RunOne(args) => reproduce::run_one_task(&args).map(|()| true),
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

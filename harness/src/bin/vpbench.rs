//! The vpbench command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vpbench_harness::commands::{cost, evaluate, models, verify_golden, verify_metrics, verify_trajectory};

/// Benchmark harness for spatiotemporal video prediction (the MS-LSTM paper and beyond).
#[derive(Parser, Debug)]
#[command(name = "vpbench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check models against the authors' reference tensors (outputs, loss, gradients).
    VerifyGolden(verify_golden::VerifyGoldenArgs),
    /// Check the training step against the authors' training loop: K recorded steps
    /// (scheduled-sampling flips, losses, Adam updates) replayed through the harness's step.
    VerifyTrajectory(verify_trajectory::VerifyTrajectoryArgs),
    /// Check the metric code against the authors' evaluation pipeline (every per-frame
    /// metric, the contingency counts and the reported means).
    VerifyMetrics(verify_metrics::VerifyMetricsArgs),
    /// Trainable parameters and MACs (paper convention) of a model.
    Cost(cost::CostArgs),
    /// Score given weights (the authors' PyTorch checkpoints, or vpbench's) on a dataset's
    /// test clips with the harness's metrics.
    Evaluate(evaluate::EvaluateArgs),
    /// List the models the registry can build.
    Models,
}

fn main() -> ExitCode {
    vpbench_harness::libdevice::prepare_at_start();
    vpbench_kernels::allocator::keep_freed_memory();
    let cli = Cli::parse();
    if let Err(e) = vpbench_kernels::threads::allow_workers_awake().and(vpbench_kernels::simd::requested_level().map(drop)) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let result = vpbench_kernels::threads::run_on_compute_threads(|| match &cli.command {
        Command::VerifyGolden(args) => verify_golden::run(args),
        Command::VerifyMetrics(args) => verify_metrics::run(args),
        Command::VerifyTrajectory(args) => verify_trajectory::run(args),
        Command::Cost(args) => cost::run(args).map(|()| true),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Models => {
            models::run();
            Ok(true)
        }
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

//! `cargo xtask ci-regress`: the smoke profile against a committed baseline.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};
use vpbench_harness::atomic::write_atomic;
use vpbench_harness::data::DataSource;
use vpbench_harness::device::ComputeDevice;
use vpbench_harness::experiment::Experiment;
use vpbench_harness::record::{RunRecord, RunStatus};
use vpbench_harness::sweep::{SweepOptions, run_sweep};

use crate::workspace_root;

#[derive(Args, Debug)]
pub struct CiRegressArgs {
    /// Rewrite the baseline with this run's numbers instead of comparing.
    #[arg(long)]
    pub bless: bool,
    /// Baseline file (default: configs/ci-baseline.json).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Run the sweep on another backend (`vulkan:cpu`, `cuda:0`) and compare it with the
    /// baseline, which is the flex CPU run: costs must be equal, metrics within
    /// `--metric-tolerance`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Largest relative metric difference accepted (default: the baseline's own, which is
    /// for flex against flex).
    #[arg(long)]
    pub metric_tolerance: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Baseline {
    description: String,
    /// Largest relative difference accepted for quality metrics and the test loss; the
    /// flex backend is deterministic for a fixed thread count, so this only absorbs
    /// summation-order noise across machines.
    metric_rel_tolerance: f64,
    runs: Vec<BaselineRun>,
}

#[derive(Debug, Serialize, Deserialize)]
struct BaselineRun {
    model: String,
    params: usize,
    macs_paper_config: u64,
    macs_run_config: u64,
    test_loss: f64,
    mse: f64,
    mae: f64,
    ssim: f64,
    psnr: f64,
    /// Unclipped (common convention): sensitive even where clipped predictions are all black.
    mse_common: f64,
}

impl BaselineRun {
    fn from_record(r: &RunRecord) -> anyhow::Result<Self> {
        let t = r
            .test
            .as_ref()
            .with_context(|| format!("{}: no test metrics", r.run_id))?;
        Ok(Self {
            model: r.model.clone(),
            params: r.cost.params,
            macs_paper_config: r.cost.macs_paper_config,
            macs_run_config: r.cost.macs_run_config,
            test_loss: t.loss,
            mse: t.authors.mse,
            mae: t.authors.mae,
            ssim: t.authors.ssim,
            psnr: t.authors.psnr,
            mse_common: t.common.mse,
        })
    }
}

pub fn run(args: &CiRegressArgs) -> anyhow::Result<bool> {
    let root = workspace_root();
    let baseline_path = args
        .baseline
        .clone()
        .unwrap_or_else(|| root.join("configs/ci-baseline.json"));
    let experiment = Experiment::load(&root.join("configs/table3.toml"))?;
    let out_dir = std::env::temp_dir().join(format!("vpbench-ci-regress-{}", std::process::id()));
    let experiment_file = root.join("configs/table3.toml");
    let options = SweepOptions {
        experiment,
        experiment_file,
        profile: "smoke".into(),
        source: DataSource::Synthetic,
        device: ComputeDevice::parse(&args.device)?,
        out_dir: out_dir.clone(),
        resume: false,
        retry_failed: true,
        quiet: true,
        command: format!("cargo xtask ci-regress --device {}", args.device),
        isolate: None,
        exit_with_parent: false,
        train_missing: true,
    };
    let records = run_sweep(&options).map(|s| s.records);
    let _ = std::fs::remove_dir_all(&out_dir);
    let records = records?;
    if let Some(failed) = records.iter().find(|r| r.status != RunStatus::Finished) {
        println!(
            "ci-regress: FAILED: run {} did not finish: {:?}",
            failed.run_id, failed.status
        );
        return Ok(false);
    }
    let current: Vec<BaselineRun> = records
        .iter()
        .map(BaselineRun::from_record)
        .collect::<anyhow::Result<_>>()?;
    if args.bless && args.device != "cpu" {
        anyhow::bail!("--bless writes the flex CPU baseline: run it without --device");
    }
    if args.bless {
        let baseline = Baseline {
            description: "cargo xtask ci-regress: table 3 models, smoke profile, synthetic Moving MNIST, flex CPU".into(),
            metric_rel_tolerance: 0.02,
            runs: current,
        };
        write_atomic(
            &baseline_path,
            serde_json::to_string_pretty(&baseline)?.as_bytes(),
        )?;
        println!(
            "ci-regress: baseline written to {}",
            baseline_path.display()
        );
        return Ok(true);
    }
    let text = std::fs::read_to_string(&baseline_path).with_context(|| {
        format!(
            "cannot read baseline {} (create it with --bless)",
            baseline_path.display()
        )
    })?;
    let mut baseline: Baseline = serde_json::from_str(&text)
        .with_context(|| format!("baseline {} is not valid", baseline_path.display()))?;
    if let Some(tolerance) = args.metric_tolerance {
        baseline.metric_rel_tolerance = tolerance;
    }
    println!(
        "ci-regress on {}: costs exact, metrics within {:.2}% of the flex baseline",
        args.device,
        baseline.metric_rel_tolerance * 100.0
    );
    let problems = compare(&baseline, &current);
    let (passed, failed) = (
        current.len() - problems.len().min(current.len()),
        problems.len(),
    );
    for p in &problems {
        println!("REGRESSION {p}");
    }
    for (got, want) in current.iter().filter_map(|c| {
        let w = baseline.runs.iter().find(|w| w.model == c.model)?;
        Some((c, w))
    }) {
        println!(
            "  {}: test loss {:.6} (baseline {:.6}, {:+.3}%), MSE {:.4} ({:+.3}%)",
            got.model,
            got.test_loss,
            want.test_loss,
            100.0 * (got.test_loss - want.test_loss) / want.test_loss,
            got.mse,
            100.0 * (got.mse - want.mse) / want.mse
        );
    }
    println!("ci-regress: {passed} passed, {failed} failed");
    Ok(problems.is_empty())
}

fn compare(baseline: &Baseline, current: &[BaselineRun]) -> Vec<String> {
    let mut problems = Vec::new();
    for want in &baseline.runs {
        let Some(got) = current.iter().find(|c| c.model == want.model) else {
            problems.push(format!("{}: in the baseline but not run", want.model));
            continue;
        };
        let exact = [
            ("params", want.params as u64, got.params as u64),
            (
                "macs_paper_config",
                want.macs_paper_config,
                got.macs_paper_config,
            ),
            ("macs_run_config", want.macs_run_config, got.macs_run_config),
        ];
        for (name, w, g) in exact {
            if w != g {
                problems.push(format!("{}: {name} {g} != baseline {w}", want.model));
            }
        }
        let close = [
            ("test_loss", want.test_loss, got.test_loss),
            ("mse", want.mse, got.mse),
            ("mae", want.mae, got.mae),
            ("ssim", want.ssim, got.ssim),
            ("psnr", want.psnr, got.psnr),
            ("mse_common", want.mse_common, got.mse_common),
        ];
        for (name, w, g) in close {
            let rel = (g - w).abs() / w.abs().max(1e-12);
            if !(rel <= baseline.metric_rel_tolerance) {
                problems.push(format!(
                    "{}: {name} {g:.6} vs baseline {w:.6} ({:.2}% > {:.2}%)",
                    want.model,
                    rel * 100.0,
                    baseline.metric_rel_tolerance * 100.0
                ));
            }
        }
    }
    problems
}

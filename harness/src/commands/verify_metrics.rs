//! `vpbench verify-metrics FILE...`: the harness's metrics against the authors' evaluation.

use std::path::PathBuf;

use clap::Args;

use crate::metric_golden::{MetricGoldenReport, verify_metric_golden};

#[derive(Args, Debug)]
pub struct VerifyMetricsArgs {
    /// Metric golden safetensors files (../shared/golden/metrics/*.safetensors).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print every compared quantity, not only the failures and the summary.
    #[arg(long, short)]
    pub verbose: bool,
    /// One JSON object per file on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Returns whether every file passed.
pub fn run(args: &VerifyMetricsArgs) -> anyhow::Result<bool> {
    let (mut passed, mut failed) = (0, 0);
    for file in &args.files {
        match super::print_outcome(file, verify_metric_golden(file), args.json, |r| print_report(r, args.verbose))? {
            Some(report) if report.passed() => passed += 1,
            _ => failed += 1,
        }
    }
    if !args.json {
        println!("metrics against the authors' pipeline: {passed} passed, {failed} failed");
    }
    Ok(failed == 0)
}

fn print_report(report: &MetricGoldenReport, verbose: bool) {
    let verdict = if report.passed() { "ok  " } else { "FAIL" };
    let worst = |relative: bool| {
        report
            .checks
            .iter()
            .filter(|c| (c.tolerance == crate::metric_golden::RELATIVE_TOLERANCE) == relative)
            .map(|c| c.max_error)
            .fold(0.0, f64::max)
    };
    println!(
        "{verdict} {} ({}): {} quantities, largest relative error {:.2e}, largest SSIM error {:.2e}, counts {}",
        report.file.display(),
        report.dataset,
        report.checks.len(),
        worst(true),
        report.checks.iter().filter(|c| c.name.contains("ssim")).map(|c| c.max_error).fold(0.0, f64::max),
        if report.checks.iter().filter(|c| c.tolerance == 0.0).all(|c| c.passed()) { "exact" } else { "DIFFER" },
    );
    for check in &report.checks {
        if verbose || !check.passed() {
            let status = if check.passed() { "ok  " } else { "FAIL" };
            let why = check.mismatch.as_deref().map(|m| format!(" ({m})")).unwrap_or_default();
            println!(
                "  {status} {:<28} {:>4} entries, error {:.3e} (tolerance {:.0e}){why}",
                check.name, check.entries, check.max_error, check.tolerance
            );
        }
    }
}

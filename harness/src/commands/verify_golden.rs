//! `vpbench verify-golden FILE...`: the port against the authors' PyTorch tensors.

use std::path::PathBuf;

use clap::Args;

use crate::device::ComputeDevice;
use vpbench_models::golden::{EVALUATION_OUTPUTS, GoldenOutcome, GoldenReport, verify_golden};

#[derive(Args, Debug)]
pub struct VerifyGoldenArgs {
    /// Golden safetensors files (../shared/golden/public/*.safetensors).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Largest relative error ||got - want|| / ||want|| that passes.
    #[arg(long, default_value_t = 1e-4)]
    pub tolerance: f64,
    /// Print the error of every compared tensor, not only the summary.
    #[arg(long, short)]
    pub verbose: bool,
    /// One JSON object per file on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// The backend to check: `cpu` (burn flex), `vulkan:cpu` (a CPU Vulkan driver such as
    /// lavapipe), `vulkan:N`, `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Returns whether every file passed or was skipped.
pub fn run(args: &VerifyGoldenArgs) -> anyhow::Result<bool> {
    let mut all_ok = true;
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let device = ComputeDevice::parse(&args.device)?;
    if !args.json {
        println!("device {}: {} {}", device.name, device.backend, device.adapter_label());
    }
    for file in &args.files {
        match verify_golden(file, &device.device) {
            Ok(report) => {
                let ok = matches!(report.outcome, GoldenOutcome::Skipped { .. })
                    || report.passed(args.tolerance);
                match (&report.outcome, ok) {
                    (GoldenOutcome::Skipped { .. }, _) => skipped += 1,
                    (_, true) => passed += 1,
                    (_, false) => failed += 1,
                }
                all_ok &= ok;
                if args.json {
                    println!("{}", serde_json::to_string(&report)?);
                } else {
                    print_report(&report, args.tolerance, args.verbose);
                }
            }
            Err(e) => {
                all_ok = false;
                failed += 1;
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"file": file, "error": e.to_string()})
                    );
                } else {
                    println!("FAIL {}: {e}", file.display());
                }
            }
        }
    }
    if !args.json {
        println!(
            "golden on {}: {passed} passed, {failed} failed, {skipped} skipped (tolerance {:e})",
            device.name, args.tolerance
        );
    }
    Ok(all_ok)
}

fn print_report(report: &GoldenReport, tolerance: f64, verbose: bool) {
    let name = report.file.display();
    let errors = match &report.outcome {
        GoldenOutcome::Skipped { reason } => {
            println!("SKIP {name}: {reason}");
            return;
        }
        GoldenOutcome::Checked { errors } => errors,
    };
    let verdict = if report.passed(tolerance) {
        "PASS"
    } else {
        "FAIL"
    };
    let find = |n: &str| {
        errors
            .iter()
            .find(|e| e.name == n)
            .map(|e| e.relative_error)
    };
    let grads: Vec<_> = errors
        .iter()
        .filter(|e| e.name.starts_with("grad."))
        .collect();
    let worst_grad = grads
        .iter()
        .max_by(|a, b| a.relative_error.total_cmp(&b.relative_error));
    println!(
        "{verdict} {name} ({}): outputs {:.2e} (evaluation path {:.2e}), loss {:.2e}, {} gradients max {:.2e}{}",
        report.model_name,
        find("expected").unwrap_or(f64::NAN),
        find(EVALUATION_OUTPUTS).unwrap_or(f64::NAN),
        find("loss").unwrap_or(f64::NAN),
        grads.len(),
        worst_grad.map_or(0.0, |g| g.relative_error),
        worst_grad.map_or(String::new(), |g| format!(" ({})", g.name)),
    );
    for e in errors {
        if verbose || !(e.relative_error <= tolerance) {
            let note = if e.floored {
                "  (reference below the noise floor, analytically zero: relative to the largest gradient)"
            } else {
                ""
            };
            println!("    {:<60} {:.3e}{note}", e.name, e.relative_error);
        }
    }
}

//! `vpbench verify-trajectory FILE...`: the training step against the authors' training loop.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::device::ComputeDevice;
use crate::profile_file::parse_profiles;
use crate::trajectory::{LOSS_TOLERANCE, TrajectoryOutcome, TrajectoryReport, UPDATE_TOLERANCE, verify_trajectory};

#[derive(Args, Debug)]
pub struct VerifyTrajectoryArgs {
    /// Trajectory files (../shared/golden/trajectory/*.safetensors).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The backend to check: `cpu` (burn flex), `vulkan:cpu`, `vulkan:N`, `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The profile file whose training recipe is checked.
    #[arg(long, default_value = "configs/profiles/mmnist.toml")]
    pub profiles: PathBuf,
    /// The profile within it (the authors' recipe: Adam, 3e-4, L2 + L1).
    #[arg(long, default_value = "paper")]
    pub profile: String,
    /// One JSON object per file on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Returns whether every file passed (a skipped file is said, and does not fail).
pub fn run(args: &VerifyTrajectoryArgs) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(&args.profiles).with_context(|| format!("cannot read profile file {}", args.profiles.display()))?;
    let profiles = parse_profiles(&text, &args.profiles)?;
    let profile = profiles
        .get(&args.profile)
        .with_context(|| format!("{}: no profile '{}'", args.profiles.display(), args.profile))?;
    let device = ComputeDevice::parse(&args.device)?;
    if !args.json {
        println!("device {}: {} {}; recipe of profile '{}'", device.name, device.backend, device.adapter_label(), args.profile);
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for file in &args.files {
        let profile = profile.for_model(&model_of(file));
        let outcome = verify_trajectory(file, &device.device, &profile);
        match super::print_outcome(file, outcome, args.json, print_report)? {
            Some(r) if matches!(r.outcome, TrajectoryOutcome::Skipped { .. }) => skipped += 1,
            Some(r) if r.passed() => passed += 1,
            _ => failed += 1,
        }
    }
    if !args.json {
        println!("trajectory on {}: {passed} passed, {failed} failed, {skipped} skipped (loss {LOSS_TOLERANCE:e}, update {UPDATE_TOLERANCE:e})", device.name);
    }
    Ok(failed == 0)
}

/// The file's model id, for the profile's per-model overrides ("" when unreadable: the
/// check itself then names the problem).
fn model_of(file: &std::path::Path) -> String {
    vpbench_models::golden::GoldenFile::open(file)
        .ok()
        .and_then(|f| f.meta("id").ok().map(str::to_string))
        .unwrap_or_default()
}

fn print_report(report: &TrajectoryReport) {
    let name = report.file.display();
    let (steps, update_error) = match &report.outcome {
        TrajectoryOutcome::Skipped { reason } => {
            println!("SKIP {name}: {reason}");
            return;
        }
        TrajectoryOutcome::Checked { steps, update_error } => (steps, update_error),
    };
    let verdict = if report.passed() { "PASS" } else { "FAIL" };
    println!(
        "{verdict} {name} ({}): {} steps, loss max {:.2e}, update {:.2e}",
        report.model_name,
        steps.len(),
        report.max_loss_error().unwrap_or(f64::NAN),
        update_error
    );
    for (k, s) in steps.iter().enumerate() {
        println!(
            "    step {k}: eta {:.6} (authors {:.6}), loss {:.6} (authors {:.6}, {:.2e})",
            s.eta, s.authors_eta, s.loss, s.authors_loss, s.loss_error
        );
    }
}

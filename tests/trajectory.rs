//! The harness's training step reproduces the authors' training loop
//! (`../shared/golden/trajectory`): every step's loss within 1e-5 and the whole update within
//! 1e-3 (relative), eta per step as theirs, on flex and on burn's Vulkan backend (lavapipe).

use std::path::PathBuf;

use vpbench_harness::device::ComputeDevice;
use vpbench_harness::experiment::Profile;
use vpbench_harness::profile_file::parse_profiles;
use vpbench_harness::trajectory::{TrajectoryOutcome, verify_trajectory};
use vpbench_tests::{safetensors_in, shared_dir};

/// The public files, or the project's own twins (`tests/fixtures/trajectory`, made by
/// `scripts/golden/make_trajectory.py` at another size, batch, lengths and step count).
fn trajectory_files(dir: PathBuf) -> Vec<PathBuf> {
    safetensors_in(&dir)
}

/// The authors' recipe as the paper profile states it.
fn paper_profile() -> Profile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../configs/profiles/mmnist.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    parse_profiles(&text, &path).unwrap()["paper"].clone()
}

fn public() -> PathBuf {
    shared_dir().join("golden/trajectory")
}

fn twins() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/trajectory")
}

fn check_all(device: &str, dir: PathBuf) {
    let device = ComputeDevice::parse(device).unwrap_or_else(|e| panic!("{e:#}"));
    let profile = paper_profile();
    for file in trajectory_files(dir) {
        let report = verify_trajectory(&file, &device.device, &profile).unwrap_or_else(|e| panic!("{}: {e:#}", file.display()));
        let TrajectoryOutcome::Checked { steps, update_error } = &report.outcome else {
            panic!("{}: skipped: {:?}", file.display(), report.outcome);
        };
        println!("{} on {}: loss max {:.2e}, update {update_error:.2e}", file.display(), device.name, report.max_loss_error().unwrap());
        assert!(report.passed(), "{}: {steps:?}, update error {update_error:e}", file.display());
    }
}

#[test]
fn the_training_step_reproduces_the_authors_loop_on_flex() {
    check_all("cpu", public());
}

#[test]
fn the_training_step_reproduces_the_authors_loop_at_other_shapes() {
    check_all("cpu", twins());
}

/// On burn's CubeCL kernels (every trajectory model runs on lavapipe).
#[test]
fn the_training_step_reproduces_the_authors_loop_on_vulkan() {
    if !vpbench_tests::on_newer_lavapipe("the_training_step_reproduces_the_authors_loop_on_vulkan") {
        return;
    }
    check_all("vulkan:cpu", public());
}

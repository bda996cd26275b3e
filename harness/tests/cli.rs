//! The `vpbench` binary: exit status and output of its commands.

use std::path::PathBuf;
use std::process::Command;

fn vpbench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vpbench"))
        .args(args)
        .output()
        .expect("run vpbench");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn golden(id: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/golden/public")
        .join(format!("{id}.safetensors"))
        .display()
        .to_string()
}

#[test]
fn verify_golden_passes_and_reports_each_file() {
    let (code, out, err) = vpbench(&["verify-golden", &golden("convlstm"), &golden("ms-lstm")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("PASS") && out.contains("ConvLSTM") && out.contains("MS-LSTM"),
        "{out}"
    );
    assert!(out.contains("2 passed, 0 failed"), "{out}");
}

#[test]
fn verify_golden_fails_with_status_1_below_the_errors() {
    // A tolerance no float32 port can meet: every file must fail.
    let (code, out, _) = vpbench(&["verify-golden", "--tolerance", "0", &golden("mk-lstm")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL"), "{out}");
}

#[test]
fn verify_golden_reports_a_missing_file_by_name() {
    let (code, out, _) = vpbench(&["verify-golden", "/nonexistent/x.safetensors"]);
    assert_eq!(code, 1);
    assert!(out.contains("/nonexistent/x.safetensors"), "{out}");
}

#[test]
fn cost_json_is_one_line_with_integer_params_and_macs() {
    let (code, out, err) = vpbench(&[
        "cost",
        "--model",
        "MS-LSTM",
        "--dataset",
        "mmnist",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["params"].as_u64(), Some(1_896_097));
    assert_eq!(v["macs"].as_u64(), Some(64_470_024_192));
    assert_eq!(v["model"], "ms-lstm");
}

#[test]
fn unknown_model_is_a_clear_error() {
    let (code, _, err) = vpbench(&["cost", "--model", "nope"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown model 'nope'") && err.contains("convlstm"),
        "{err}"
    );
}

#[test]
fn help_is_available_for_every_command() {
    for cmd in [
        vec!["--help"],
        vec!["verify-golden", "--help"],
        vec!["verify-metrics", "--help"],
        vec!["cost", "--help"],
        vec!["models", "--help"],
    ] {
        let (code, out, _) = vpbench(&cmd);
        assert_eq!(code, 0, "{cmd:?}");
        assert!(out.contains("Usage"), "{out}");
    }
}

fn metric_golden(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/golden/metrics")
        .join(format!("{name}.safetensors"))
        .display()
        .to_string()
}

#[test]
fn verify_metrics_passes_on_the_public_files() {
    let files: Vec<String> = ["moving-mnist-20", "taxiBJ", "kth", "DWD"].map(metric_golden).to_vec();
    let mut args = vec!["verify-metrics"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = vpbench(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("4 passed, 0 failed") && out.contains("counts exact"), "{out}");
}

#[test]
fn verify_metrics_names_a_file_that_is_not_a_metric_golden() {
    let (code, out, _) = vpbench(&["verify-metrics", &golden("convlstm")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("convlstm.safetensors") && out.contains("metadata field"), "{out}");
}

/// `vpbench evaluate` scores a checkpoint of the authors' code (the golden ConvLSTM's weights
/// as their `torch.save` writes them: tests/fixtures/pth) on synthetic Moving MNIST at the
/// smoke profile's frames, with the checkpoint's 8 hidden channels, and writes its scores.
#[test]
fn evaluate_scores_an_authors_pytorch_checkpoint_and_writes_the_scores() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let pth = root.join("tests/fixtures/pth/convlstm.pth").display().to_string();
    let out = std::env::temp_dir().join(format!("vpbench-evaluate-{}.json", std::process::id()));
    let profiles = root.join("configs/profiles/mmnist.toml").display().to_string();
    let out_arg = out.display().to_string();
    let args = ["evaluate", "--model", "convlstm", "--weights", &pth, "--profile", "smoke", "--profiles", &profiles];
    let (code, stdout, err) = vpbench(&[&args[..], &["--hidden", "8", "--out", &out_arg]].concat());
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("convlstm on mmnist") && stdout.contains("MSE"), "{stdout}");
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(written["test"]["authors"]["mse"].as_f64().unwrap() > 0.0);
    assert_eq!(written["data"]["synthetic"], true);
    assert_eq!(written["data"]["test_clips"], 4);
    let _ = std::fs::remove_file(&out);

    // the profile's own 4 hidden channels do not fit the checkpoint: refused, naming it
    let (code, stdout, err) = vpbench(&args);
    assert_eq!(code, 2, "{stdout}");
    assert!(err.contains("convlstm.pth"), "{err}");
}

#[test]
fn an_unknown_idle_workers_policy_is_refused_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_vpbench"))
        .arg("models")
        .env("VPBENCH_IDLE_WORKERS", "spin")
        .output()
        .expect("run vpbench");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("VPBENCH_IDLE_WORKERS=spin") && err.contains("'poll' or 'sleep'"), "{err}");
    for policy in ["poll", "sleep"] {
        let ok = Command::new(env!("CARGO_BIN_EXE_vpbench")).arg("models").env("VPBENCH_IDLE_WORKERS", policy).output().expect("run vpbench");
        assert!(ok.status.success(), "{policy}: {}", String::from_utf8_lossy(&ok.stderr));
    }
}

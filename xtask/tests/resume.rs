//! Killing `cargo xtask reproduce-table` mid-run and starting it again loses no finished run
//! and resumes the interrupted one from its checkpoint.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn experiment_file(dir: &Path) -> PathBuf {
    let paper = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../configs/paper/table3_ablation_mmnist.csv");
    let path = dir.join("table3-resume.toml");
    std::fs::write(
        &path,
        format!(
            r#"table = 3
title = "resume test"
dataset = "mmnist"
models = ["convlstm", "sms-lstm"]
paper = "{}"
columns = ["params_m", "memory_gb", "flops_g", "time_h", "mse"]
figures = ["fig4_radar"]
profiles = "profiles-resume.toml"
"#,
            paper.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("profiles-resume.toml"),
        r#"[slow]
description = "smoke-sized frames, many epochs, so that a run can be interrupted"
frame_size = 16
in_len = 3
out_len = 3
hidden = 8
layers = 6
kernel = 3
generated_clips = 40
max_train_clips = 16
max_test_clips = 4
epochs = 12
batch = 4
eval_batch = 4
learning_rate = 3e-4
valid_every = 1
seed = 7
"#,
    )
    .unwrap();
    path
}

fn xtask(config: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args([
        "reproduce-table",
        "3",
        "--profile",
        "slow",
        "--quiet",
        "--config",
    ])
    .arg(config)
    .arg("--out")
    .arg(out)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    cmd
}

fn run_dir(out: &Path, model: &str) -> Option<PathBuf> {
    std::fs::read_dir(out.join("runs"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{model}-"))
        })
}

#[test]
fn interrupted_sweep_resumes_without_losing_finished_runs() {
    let dir = std::env::temp_dir().join(format!("vpbench-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = experiment_file(&dir);
    let out = dir.join("out");

    let mut child = xtask(&config, &out).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    // wait until the first run is recorded and the second has checkpointed at least once
    loop {
        let first_done = run_dir(&out, "convlstm").is_some_and(|d| d.join("record.json").is_file());
        let second_ckpt =
            run_dir(&out, "sms-lstm").is_some_and(|d| d.join("checkpoint/state.json").is_file());
        if first_done && second_ckpt {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "sweep ended before it could be interrupted"
        );
        assert!(
            Instant::now() < deadline,
            "timed out waiting for a checkpoint"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let first_record = run_dir(&out, "convlstm").unwrap().join("record.json");
    let before = std::fs::read_to_string(&first_record).unwrap();
    let second = run_dir(&out, "sms-lstm").unwrap();
    assert!(
        !second.join("record.json").exists(),
        "the interrupted run must not have a record"
    );

    let status = xtask(&config, &out).status().unwrap();
    assert!(status.success());

    assert_eq!(
        std::fs::read_to_string(&first_record).unwrap(),
        before,
        "finished run was redone"
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(second.join("record.json")).unwrap())
            .unwrap();
    assert_eq!(record["status"]["state"], "finished");
    assert_eq!(record["resumed"], true);
    assert_eq!(record["losses"].as_array().unwrap().len(), 12);
    assert!(
        !second.join("checkpoint").exists(),
        "checkpoint left behind after the run finished"
    );
    assert!(out.join("table3.md").is_file() && out.join("fig4_radar.png").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Pids of the `run-one` children working on `out`.
fn run_one_children(out: &Path) -> Vec<u32> {
    let needle = out.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    let c = String::from_utf8_lossy(&c).replace('\0', " ");
                    c.contains("run-one") && c.contains(&needle)
                })
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn a_run_killed_by_the_system_is_recorded_as_failed_and_the_sweep_goes_on() {
    let dir = std::env::temp_dir().join(format!("vpbench-killed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = experiment_file(&dir);
    let out = dir.join("out");
    let mut sweep = xtask(&config, &out).spawn().unwrap();
    // kill the first model's process once it has started training, as the OOM killer would
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let started =
            run_dir(&out, "convlstm").is_some_and(|d| d.join("checkpoint/state.json").is_file());
        if started && let Some(pid) = run_one_children(&out).first() {
            Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
            break;
        }
        assert!(
            sweep.try_wait().unwrap().is_none(),
            "sweep ended before the run could be killed"
        );
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the run to start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        sweep.wait().unwrap().success(),
        "the sweep must go on after a killed run"
    );
    let read = |model: &str| -> serde_json::Value {
        let path = run_dir(&out, model).unwrap().join("record.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let killed = read("convlstm");
    assert_eq!(killed["status"]["state"], "failed");
    assert!(
        killed["status"]["reason"]
            .as_str()
            .unwrap()
            .contains("signal 9"),
        "{killed}"
    );
    assert_eq!(read("sms-lstm")["status"]["state"], "finished");
    let md = std::fs::read_to_string(out.join("table3.md")).unwrap();
    assert!(md.contains("signal 9"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

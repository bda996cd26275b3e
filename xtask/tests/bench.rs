//! `cargo xtask bench` on the CPU, `--emit-slurm`, `--render-only` and GPU device errors.

use std::path::Path;
use std::process::{Command, Output};

fn xtask(args: &[&str], extra: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg(extra)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn bench_measures_each_model_and_writes_json_csv_and_markdown() {
    let out = std::env::temp_dir().join(format!("vpbench-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = xtask(
        &[
            "bench",
            "--table",
            "3",
            "--profile",
            "smoke",
            "--models",
            "convlstm,ms-lstm",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--quiet",
            "--name",
            "cpu-smoke",
            "--out",
        ],
        &out,
    );
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("cpu-smoke.json")).unwrap())
            .unwrap();
    assert_eq!(report["device"], "cpu");
    assert!(report["peak_matmul_macs_per_s"].as_f64().unwrap() > 1e6);
    assert!(report["host"]["git_commit"].as_str().unwrap().len() >= 7);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["error"], "", "{r}");
        for key in [
            "train_sequences_per_s",
            "eval_sequences_per_s",
            "eval_macs_per_s",
        ] {
            let v = r[key].as_f64().unwrap();
            assert!(v.is_finite() && v > 0.0, "{key} = {v}");
        }
        assert!(r["memory"]["process_peak_rss_bytes"].as_u64().unwrap() > 1_000_000);
        assert!(r["memory"]["measured_as"].as_str().unwrap().contains("RSS"));
    }
    // ConvLSTM at 16x16, 3 -> 3 (5 steps), 4 hidden: its forward MACs are its own
    assert!(results[0]["forward_macs_per_sequence"].as_u64().unwrap() > 0);
    let csv = std::fs::read_to_string(out.join("cpu-smoke.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.starts_with("model,device,backend,batch"));
    let md = std::fs::read_to_string(out.join("cpu-smoke.md")).unwrap();
    assert!(
        md.contains("| ConvLSTM | 4 |") && md.contains("| MS-LSTM | 4 |"),
        "{md}"
    );

    let o = xtask(&["bench", "--models", "nosuch", "--out"], &out);
    assert!(!o.status.success());
    assert!(text(&o).contains("nosuch"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_sweep_is_emitted_as_a_slurm_job_array_with_a_render_job() {
    let dir = std::env::temp_dir().join(format!("vpbench-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let runs = dir.join("runs").display().to_string();
    let o = xtask(
        &[
            "reproduce-table",
            "3",
            "--profile",
            "paper",
            "--device",
            "cuda:0",
            "--out",
            &runs,
            "--emit-slurm",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    let array = std::fs::read_to_string(dir.join("table3-paper.sbatch")).unwrap();
    assert!(
        array.contains("#SBATCH --array=0-3") && array.contains("#SBATCH --gres=gpu:1"),
        "{array}"
    );
    assert!(
        array.contains("MODELS=(convlstm sms-lstm tms-lstm ms-lstm)"),
        "{array}"
    );
    assert!(array.contains(" run-one --plan ") && array.contains("table3-paper-plans/\"$MODEL\".json"), "{array}");
    // each task's run plan: the model, the profile as applied, the device; the run id is
    // left to the task, which computes it from its data
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("table3-paper-plans/ms-lstm.json")).unwrap()).unwrap();
    assert_eq!((plan["model"].as_str(), plan["device"].as_str()), (Some("ms-lstm"), Some("cuda:0")), "{plan}");
    assert_eq!((plan["profile_name"].as_str(), plan["run_id"].is_null()), (Some("paper"), true), "{plan}");
    assert_eq!(plan["profile"]["frame_size"], 64, "{plan}");
    let render = std::fs::read_to_string(dir.join("table3-paper-render.sbatch")).unwrap();
    assert!(
        render.contains("reproduce-table 3") && render.contains("--render-only"),
        "{render}"
    );
    assert!(
        dir.join("runs/slurm").is_dir(),
        "log folder made before submission"
    );
    let submit = std::fs::read_to_string(dir.join("table3-paper-submit.sh")).unwrap();
    assert!(submit.contains("--dependency=afterany:"), "{submit}");
    for script in [
        "table3-paper.sbatch",
        "table3-paper-render.sbatch",
        "table3-paper-submit.sh",
    ] {
        let check = Command::new("bash")
            .arg("-n")
            .arg(dir.join(script))
            .output()
            .unwrap();
        assert!(check.status.success(), "{script}: {}", text(&check));
    }
    // nothing was trained: rendering only now reports the missing runs
    let out = dir.join("out");
    let o = xtask(
        &[
            "reproduce-table",
            "3",
            "--profile",
            "smoke",
            "--render-only",
            "--quiet",
            "--out",
        ],
        &out,
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no record of any run") && text(&o).contains("missing: convlstm-"),
        "{}",
        text(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A SLURM task's work, here: `run-one --plan` on an emitted plan trains and records its run.
#[test]
fn an_emitted_run_plan_runs_and_records_its_run() {
    let dir = std::env::temp_dir().join(format!("vpbench-plan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("out").display().to_string();
    let o = xtask(&["reproduce-table", "3", "--profile", "smoke", "--out", &out, "--emit-slurm"], &dir);
    assert!(o.status.success(), "{}", text(&o));
    let o = xtask(&["run-one", "--plan"], &dir.join("table3-smoke-plans/convlstm.json"));
    assert!(o.status.success(), "{}", text(&o));
    let runs: Vec<_> = std::fs::read_dir(dir.join("out/runs")).unwrap().map(|e| e.unwrap().path()).collect();
    let run = runs.iter().find(|p| p.file_name().unwrap().to_string_lossy().starts_with("convlstm-mmnist-smoke-")).expect("a convlstm run folder");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("record.json")).unwrap()).unwrap();
    assert_eq!(record["status"]["state"], "finished", "{record}");
    assert!(std::fs::read_to_string(dir.join("out/results.csv")).unwrap().contains("convlstm"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_gpu_device_opens_or_says_clearly_why_not() {
    let out = std::env::temp_dir().join(format!("vpbench-gpu-{}", std::process::id()));
    let o = xtask(
        &[
            "bench",
            "--profile",
            "smoke",
            "--models",
            "convlstm",
            "--steps",
            "1",
            "--warmup",
            "0",
            "--device",
            "cuda:0",
            "--quiet",
            "--out",
        ],
        &out,
    );
    if !o.status.success() {
        let t = text(&o);
        assert!(t.contains("--device cuda:0") && t.contains("Vulkan"), "{t}");
    }
    let o = xtask(&["bench", "--device", "cuda:x", "--out"], &out);
    assert!(
        text(&o).contains("expected cuda:N with N a GPU index"),
        "{}",
        text(&o)
    );
    let o = xtask(&["bench", "--device", "tpu:0", "--out"], &out);
    assert!(
        text(&o).contains("expected 'cpu', 'cuda:N'") && text(&o).contains("'vulkan:cpu'"),
        "{}",
        text(&o)
    );
    let _ = std::fs::remove_dir_all(&out);
}

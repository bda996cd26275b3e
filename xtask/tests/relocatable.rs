//! The xtask binary runs away from the checkout: copied into an empty folder with no
//! `configs/` above it (as on a GPU machine), it finds its embedded configs, runs a smoke
//! sweep in child processes of the copied binary and renders the table.

use std::process::Command;

#[test]
fn a_copied_binary_runs_a_smoke_sweep_without_the_checkout() {
    let dir = std::env::temp_dir().join(format!("vpbench-relocated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let binary = dir.join("bin/xtask");
    std::fs::copy(env!("CARGO_BIN_EXE_xtask"), &binary).unwrap();
    let output = Command::new(&binary)
        .args(["reproduce-table", "3", "--profile", "smoke", "--quiet"])
        .current_dir(&dir)
        .env_remove("VPBENCH_ROOT")
        .env("TMPDIR", dir.join("tmp"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    // outputs land under the current directory, configs came from the binary
    let table = std::fs::read_to_string(dir.join("out/mmnist-smoke/table3.md")).unwrap();
    assert!(table.contains("| MS-LSTM |"), "{table}");
    let extracted: Vec<_> = std::fs::read_dir(dir.join("tmp"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("vpbench-root-"))
        .collect();
    assert_eq!(extracted.len(), 1, "{extracted:?}");
    assert!(dir.join("tmp").join(&extracted[0]).join("configs/table3.toml").is_file());
    // the record names the commit the binary was built from, not "unknown"
    let record = std::fs::read_dir(dir.join("out/mmnist-smoke/runs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("record.json"))
        .find(|p| p.is_file())
        .unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    let commit = record["host"]["git_commit"].as_str().unwrap();
    assert!(!commit.starts_with("unknown"), "{commit}");
    let _ = std::fs::remove_dir_all(&dir);
}

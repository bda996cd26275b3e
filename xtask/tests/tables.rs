//! `cargo xtask reproduce-table 4` and `5` in the smoke profile: the tables and Fig. 6
//! render with the paper's values beside the measured ones, and table 4 reuses the runs
//! of table 5 (same dataset, same profile).

use std::path::Path;
use std::process::Command;

fn reproduce(table: &str, out: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["reproduce-table", table, "--profile", "smoke", "--quiet", "--out"])
        .arg(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[test]
fn tables_4_and_5_and_fig6_render_from_shared_runs() {
    let out = std::env::temp_dir().join(format!("vpbench-tables-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    reproduce("5", &out);
    let md = std::fs::read_to_string(out.join("table5.md")).unwrap();
    for (model, ssim, mse, mae) in [
        ("ConvLSTM", "0.810", "90.36", "142.5"),
        ("PredRNN", "0.845", "66.17", "118.0"),
        ("PredRNN++", "0.846", "65.63", "119.0"),
        ("PredRNN-V2", "0.855", "61.57", "112.9"),
        ("MIM", "0.855", "63.76", "113.4"),
        ("MotionRNN", "0.862", "59.62", "108.9"),
        ("MS-LSTM", "0.879", "52.63", "97.9"),
    ] {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {model} |")))
            .unwrap_or_else(|| panic!("no {model} row:\n{md}"));
        for paper in [ssim, mse, mae] {
            assert!(row.contains(&format!("| {paper} |")), "{row}");
        }
        assert!(!row.contains("failed"), "{row}");
    }
    let png = std::fs::read(out.join("fig6_frames.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let svg = std::fs::read_to_string(out.join("fig6_frames.svg")).unwrap();
    assert!(svg.contains("Ground truth") && svg.contains("MotionRNN") && svg.contains("<image"));

    let stdout = reproduce("4", &out);
    assert_eq!(stdout.matches("already recorded").count(), 7, "{stdout}");
    let md = std::fs::read_to_string(out.join("table4.md")).unwrap();
    let row = md.lines().find(|l| l.starts_with("| MotionRNN |")).unwrap();
    // params and FLOPs at the paper's configuration: 1.9M, 146.2G
    assert!(row.contains("| 1.900 | 1.900 |") && row.contains("| 146.2 | 146.2 |"), "{row}");
    let _ = std::fs::remove_dir_all(&out);
}

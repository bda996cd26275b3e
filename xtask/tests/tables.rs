//! `cargo xtask reproduce-table 4` and `5` in the smoke profile: the tables and Fig. 6
//! render with the paper's values beside the measured ones, and table 4 reuses the runs
//! of table 5 (same dataset, same profile).

use std::path::Path;
use std::process::Command;

fn reproduce(table: &str, out: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "reproduce-table",
            table,
            "--profile",
            "smoke",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every `.tex` that `out` holds is well formed (escaped, balanced) and, where pdflatex is
/// installed (Debian's texlive-latex-base, which scripts/install-system-deps.sh installs),
/// compiles inside a minimal document.
fn check_latex(out: &Path) {
    let tables: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tex"))
        .collect();
    assert!(!tables.is_empty(), "no .tex in {}", out.display());
    let pdflatex = Command::new("pdflatex").arg("--version").output().is_ok_and(|o| o.status.success());
    for table in tables {
        let tex = std::fs::read_to_string(&table).unwrap();
        if let Some(problem) = vpbench_reports::comparison::latex_problem(&tex) {
            panic!("{}: {problem}", table.display());
        }
        if !pdflatex {
            println!("SKIPPED compiling {}: pdflatex not installed; checked well-formed only", table.display());
            continue;
        }
        let doc = out.join(format!("compile-{}", table.file_name().unwrap().to_string_lossy()));
        std::fs::write(&doc, format!("\\documentclass{{article}}\n\\begin{{document}}\n{tex}\\end{{document}}\n")).unwrap();
        let run = Command::new("pdflatex")
            .args(["-interaction=nonstopmode", "-halt-on-error", "-output-directory"])
            .arg(out)
            .arg(&doc)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}: {}", table.display(), String::from_utf8_lossy(&run.stdout));
    }
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
    assert!(
        row.contains("| 1.900 | 1.900 |") && row.contains("| 146.2 | 146.2 |"),
        "{row}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn table_6_compares_with_simvp_and_earthformer_under_their_own_recipes() {
    let out = std::env::temp_dir().join(format!("vpbench-table6-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    reproduce("6", &out);
    let md = std::fs::read_to_string(out.join("table6.md")).unwrap();
    check_latex(&out);
    for (model, basics, flops) in [
        ("SimVP", "CNN", "68.5"),
        ("Earthformer", "Attention", "519.5"),
        ("MS-LSTM", "RNN", "64.5"),
    ] {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {model} | {basics} |")))
            .unwrap_or_else(|| panic!("no {model} row:\n{md}"));
        // FLOPs at the paper's profiling batch equal the paper's to its printed precision
        assert!(row.contains(&format!("| {flops} | {flops} |")), "{row}");
    }
    assert!(
        md.contains("Earthformer x16") && md.contains("SimVP x4"),
        "{md}"
    );
    let record = |model: &str| -> serde_json::Value {
        let dir = std::fs::read_dir(out.join("runs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{model}-"))
            })
            .unwrap();
        serde_json::from_str(&std::fs::read_to_string(dir.join("record.json")).unwrap()).unwrap()
    };
    // all three scored on the future frames only: MS-LSTM's SSIM is the mean of its
    // per-frame SSIM over the frames after in_len, not over all S-1 outputs
    assert!(md.contains("averaged over the out_len future frames only"), "{md}");
    let ms_lstm = record("ms-lstm");
    let authors = &ms_lstm["test"]["authors"];
    let in_len = ms_lstm["model_config"]["in_len"].as_u64().unwrap();
    let future: Vec<f64> = authors["frames"]
        .as_array()
        .unwrap()
        .iter()
        .zip(authors["per_frame"]["ssim"].as_array().unwrap())
        .filter(|(f, _)| f.as_u64().unwrap() > in_len)
        .map(|(_, v)| v.as_f64().unwrap())
        .collect();
    assert!(!future.is_empty() && future.len() < authors["frames"].as_array().unwrap().len());
    let ssim = format!("| {:.3} [", future.iter().sum::<f64>() / future.len() as f64);
    let row = md.lines().find(|l| l.starts_with("| MS-LSTM |")).unwrap();
    assert!(row.contains(&ssim), "MS-LSTM's future-frame SSIM {ssim} not in {row}");
    let earthformer = record("earthformer");
    let optimizer = earthformer["training"]["optimizer"].as_str().unwrap();
    assert!(
        optimizer.starts_with("AdamW")
            && optimizer.contains("WarmupCosine")
            && optimizer.contains("norm 1"),
        "{optimizer}"
    );
    assert!(
        earthformer["training"]["loss"]
            .as_str()
            .unwrap()
            .starts_with("mean squared")
    );
    assert_eq!(earthformer["cost"]["macs_paper_batch"], 519_464_550_400u64);
    let simvp = record("simvp");
    assert!(
        simvp["training"]["optimizer"]
            .as_str()
            .unwrap()
            .contains("OneCycle")
    );
    assert_eq!(
        record("ms-lstm")["training"]["optimizer"]
            .as_str()
            .unwrap()
            .split(' ')
            .next(),
        Some("Adam")
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn radar_tables_10_and_11_render_with_skill_scores() {
    let out = std::env::temp_dir().join(format!("vpbench-radar-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    reproduce("11", &out);
    let md = std::fs::read_to_string(out.join("table11.md")).unwrap();
    let row = md.lines().find(|l| l.starts_with("| MS-LSTM |")).unwrap();
    // the paper's CSI 0.5 and HSS 5 beside measured scores in [-1, 1]
    assert!(
        row.contains("| 0.405 |") && row.contains("| 0.164 |"),
        "{row}"
    );
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let csi: f64 = cells[2].parse().unwrap();
    assert!((-1.0..=1.0).contains(&csi), "{row}");
    assert!(
        md.contains("synthetic: built-in rain-cell generator"),
        "{md}"
    );
    let curves = std::fs::read_to_string(out.join("fig10_skill.svg")).unwrap();
    assert!(
        curves.contains("CSI at 2 mm/h")
            && curves.contains("HSS at 5 mm/h")
            && curves.contains("PrecipLSTM")
    );
    let strip = std::fs::read_to_string(out.join("fig11_frames.svg")).unwrap();
    assert!(
        strip.contains("Ground truth") && strip.contains("30 mm/h") && strip.contains("<image")
    );
    let stdout = reproduce("10", &out);
    assert_eq!(stdout.matches("already recorded").count(), 8, "{stdout}");
    let md = std::fs::read_to_string(out.join("table10.md")).unwrap();
    // ConvLSTM at 180x180, 4 -> 4 (7 steps): 0.4 M params, 100.3 G FLOPs as the paper prints
    let row = md.lines().find(|l| l.starts_with("| ConvLSTM |")).unwrap();
    assert!(row.contains("| 100.3 | 100.3 |"), "{row}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn kth_table_9_renders_with_the_papers_cost_columns() {
    let out = std::env::temp_dir().join(format!("vpbench-kth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    reproduce("9", &out);
    let md = std::fs::read_to_string(out.join("table9.md")).unwrap();
    // at the paper's 128x128, 10 -> 10: ConvLSTM 137.7 G and MS-LSTM 257.9 G, as printed
    for (model, flops) in [
        ("ConvLSTM", "137.7"),
        ("MS-LSTM", "257.9"),
        ("MotionRNN", "584.8"),
    ] {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {model} |")))
            .unwrap();
        assert!(row.contains(&format!("| {flops} | {flops} |")), "{row}");
    }
    assert!(
        md.contains("synthetic: built-in walking/jogging/running silhouettes"),
        "{md}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn taxibj_tables_7_and_8_and_fig7_render_from_shared_runs() {
    let out = std::env::temp_dir().join(format!("vpbench-taxibj-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    reproduce("8", &out);
    let md = std::fs::read_to_string(out.join("table8.md")).unwrap();
    // MSE of each of the 4 predicted frames, measured, beside the paper's (MS-LSTM 0.141 .. 0.230)
    let row = md.lines().find(|l| l.starts_with("| MS-LSTM |")).unwrap();
    assert!(
        row.contains("| 0.141 |") && row.contains("| 0.230 |"),
        "{row}"
    );
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let first_frame: f64 = cells[2].parse().unwrap();
    assert!(first_frame.is_finite() && first_frame >= 0.0, "{row}");
    assert!(
        md.contains("MSE frame 4") && md.contains("lead time K"),
        "{md}"
    );
    assert!(
        md.contains("synthetic: built-in city flow generator") && md.contains("time-reversed"),
        "{md}"
    );
    let strip = std::fs::read_to_string(out.join("fig7_difference.svg")).unwrap();
    assert!(
        strip.contains("|GT-P| MoDeRNN") && strip.contains("<image"),
        "fig 7"
    );
    let stdout = reproduce("7", &out);
    assert_eq!(stdout.matches("already recorded").count(), 9, "{stdout}");
    let md = std::fs::read_to_string(out.join("table7.md")).unwrap();
    // at the paper's 32x32, 4 -> 4 (7 steps): counted FLOPs beside the printed ones
    for (model, flops) in [
        ("ConvLSTM", "3.2"),
        ("CMS-LSTM", "11.5"),
        ("MS-LSTM", "5.9"),
    ] {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {model} |")))
            .unwrap();
        assert!(row.contains(&format!("| {flops} | {flops} |")), "{row}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn figures_are_rendered_again_from_records_without_training() {
    let root = std::env::temp_dir().join(format!("vpbench-figures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let sweep = root.join("mmnist-smoke");
    reproduce("3", &sweep);
    std::fs::remove_file(sweep.join("fig4_radar.png")).unwrap();
    let record = std::fs::read_dir(sweep.join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("record.json");
    let before = std::fs::read_to_string(&record).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["figures", "--profile", "smoke", "--out-root"])
        .arg(&root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(sweep.join("fig4_radar.png").is_file(), "{stdout}");
    // table 5 shares two of its models' runs with table 3: it renders those and lists the rest
    assert!(
        stdout.contains("table 3: wrote") && stdout.contains("table 5: wrote") && stdout.contains("table 5: missing (no record): predrnn-"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&record).unwrap(),
        before,
        "nothing was retrained"
    );
    // --render-only with one record gone: the table without it, the run listed as missing
    let tms = std::fs::read_dir(sweep.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("tms-lstm-"))
        .unwrap();
    std::fs::remove_dir_all(&tms).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["reproduce-table", "3", "--profile", "smoke", "--render-only", "--quiet", "--out"])
        .arg(&sweep)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("missing (no record, not in the table): tms-lstm-"), "{stdout}");
    let md = std::fs::read_to_string(sweep.join("table3.md")).unwrap();
    assert!(md.contains("| MS-LSTM |") && !md.contains("| TMS-LSTM |"), "{md}");
    let _ = std::fs::remove_dir_all(&root);
}

/// `cargo xtask report` writes one self-contained page per output folder; a real browser
/// (headless Chromium, where it is installed) loads it, and its DOM holds every table with
/// a row per model and the figure inline. Without Chromium the browser half says it was
/// skipped.
#[test]
fn the_report_page_renders_its_tables_and_figures_in_headless_chromium() {
    let root = std::env::temp_dir().join(format!("vpbench-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let sweep = root.join("mmnist-smoke");
    reproduce("3", &sweep);
    let evaluated = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["evaluate", "--dimension", "robustness", "--table", "3", "--profile", "smoke", "--out"])
        .arg(&sweep)
        .output()
        .unwrap();
    assert!(evaluated.status.success(), "{}", String::from_utf8_lossy(&evaluated.stderr));
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["report", "--profile", "smoke", "--out-root"])
        .arg(&root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let page = sweep.join("index.html");
    assert!(stdout.contains(&format!("report: wrote {}", page.display())), "{stdout}");
    let html = std::fs::read_to_string(&page).unwrap();
    for external in ["<script", "<link", "src=\"http", "href=\"http", "url(http"] {
        assert!(!html.contains(external), "the page refers to something outside it: {external}");
    }
    for run in std::fs::read_dir(sweep.join("runs")).unwrap() {
        let id = run.unwrap().file_name().into_string().unwrap();
        assert!(html.contains(&format!("href=\"runs/{id}/record.json\"")), "no link to {id}");
    }

    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
    else {
        eprintln!("SKIPPED: the headless Chromium half of this test: no chromium on PATH (scripts/install-system-deps.sh installs Debian's)");
        let _ = std::fs::remove_dir_all(&root);
        return;
    };
    let url = format!("file://{}", page.display());
    let browser = |extra: &[String]| {
        let profile = root.join("chromium-profile");
        let out = Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,3000"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .unwrap();
        assert!(out.status.success(), "{chromium}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = browser(&["--dump-dom".to_string()]);
    // table 3 as the browser parsed it: its title, a row per model, the radar figure inline
    let section = dom.split("<section>").find(|s| s.contains("Table 3:")).unwrap_or_else(|| panic!("no Table 3 in the DOM:\n{dom}"));
    let comparison = section.split("<table class=\"comparison\">").nth(1).unwrap().split("</table>").next().unwrap();
    assert_eq!(comparison.matches("<tr>").count(), 1 + 4, "header + 4 models:\n{comparison}");
    for model in ["ConvLSTM", "SMS-LSTM", "TMS-LSTM", "MS-LSTM"] {
        assert!(comparison.contains(&format!("<td>{model}</td>")), "{model} missing:\n{comparison}");
    }
    let figure = section.split("<figure id=\"fig4_radar\">").nth(1).expect("Fig. 4 in the DOM");
    assert!(figure.trim_start().starts_with("<svg") && figure.contains("</svg>"), "Fig. 4 is not an inline SVG");
    // the robustness evaluation: its table (header + 4 models) and its figure, inline
    let evaluation = dom.split("<section class=\"evaluation\">").nth(1).expect("the robustness section in the DOM");
    let table = evaluation.split("<table class=\"evaluation\">").nth(1).unwrap().split("</table>").next().unwrap();
    assert_eq!(table.matches("<tr>").count(), 1 + 4, "{table}");
    assert!(evaluation.contains("<figure id=\"robustness-table3\">"), "no robustness figure");
    let screenshot = root.join("report.png");
    browser(&[format!("--screenshot={}", screenshot.display())]);
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000, "an empty screenshot");
    let _ = std::fs::remove_dir_all(&root);
}

/// `cargo xtask evaluate` on Table 3's smoke runs: each dimension scores the trained weights
/// (nothing is trained again) and writes its table, CSV, JSON and per-frame figure.
/// Generalisation needs Fashion-MNIST's files (Debian's dataset-fashion-mnist, which
/// scripts/install-system-deps.sh installs); without them that dimension says it was skipped.
#[test]
fn each_evaluation_dimension_scores_the_trained_models_and_renders_its_table_and_figure() {
    let root = std::env::temp_dir().join(format!("vpbench-evaluate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let sweep = root.join("mmnist-smoke");
    reproduce("3", &sweep);
    let record = std::fs::read_dir(sweep.join("runs")).unwrap().next().unwrap().unwrap().path().join("record.json");
    let before = std::fs::read_to_string(&record).unwrap();
    let fashion = Path::new("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file();
    for (dimension, variants) in [("horizon", 3), ("robustness", 4), ("generalisation", 2)] {
        if dimension == "generalisation" && !fashion {
            eprintln!("SKIPPED: --dimension generalisation: no Fashion-MNIST under /usr/share/datasets/fashion-mnist");
            continue;
        }
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["evaluate", "--dimension", dimension, "--table", "3", "--profile", "smoke", "--out"])
            .arg(&sweep)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{dimension}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        let stem = sweep.join(format!("{dimension}-table3"));
        for ext in ["md", "csv", "json", "png", "svg"] {
            assert!(stem.with_extension(ext).is_file(), "{dimension}: no .{ext}: {stdout}");
        }
        let md = std::fs::read_to_string(stem.with_extension("md")).unwrap();
        for model in ["ConvLSTM", "SMS-LSTM", "TMS-LSTM", "MS-LSTM"] {
            let row = md.lines().find(|l| l.starts_with(&format!("| {model} |"))).unwrap_or_else(|| panic!("{dimension}: no {model} row:\n{md}"));
            // MSE and SSIM per variant, and the MSE change of each variant but the first
            assert_eq!(row.matches('|').count(), 2 + 3 * variants - 1, "{dimension}: {row}");
            assert!(!row.contains("not applicable") && !row.contains(" – "), "{dimension}: {row}");
        }
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(stem.with_extension("json")).unwrap()).unwrap();
        let scores = &json["models"][0]["scores"];
        assert_eq!(scores.as_array().unwrap().len(), variants);
        if dimension == "horizon" {
            // 3 -> 3, 6 and 9 predicted frames, each scored frame by frame
            for (k, frames) in [3, 6, 9].into_iter().enumerate() {
                assert_eq!(scores[k]["Ok"]["per_frame"]["mse"].as_array().unwrap().len(), frames);
            }
        }
    }
    assert_eq!(std::fs::read_to_string(&record).unwrap(), before, "nothing was retrained");
    let _ = std::fs::remove_dir_all(&root);
}

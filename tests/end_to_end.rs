//! The smoke profile through the same code path as `cargo xtask reproduce-table 3`:
//! data, training, metrics, records, results store, table and figure; contents checked.

use std::path::PathBuf;

use vpbench_harness::data::DataSource;
use vpbench_harness::device::ComputeDevice;
use vpbench_harness::experiment::Experiment;
use vpbench_harness::record::{RunRecord, RunStatus};
use vpbench_harness::sweep::{SweepOptions, read_records, run_sweep};
use vpbench_reports::figure::Figure;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn smoke_sweep(out_dir: PathBuf) -> SweepOptions {
    SweepOptions {
        experiment: Experiment::load(&workspace().join("configs/table3.toml")).unwrap(),
        profile: "smoke".into(),
        source: DataSource::Synthetic,
        device: ComputeDevice::parse("cpu").unwrap(),
        out_dir,
        resume: true,
        retry_failed: false,
        quiet: true,
        command: "end_to_end test".into(),
        isolate: None,
        train_missing: true,
        seeds: 1,
    }
}

#[test]
fn smoke_profile_renders_table3_and_fig4_with_contents() {
    let out = std::env::temp_dir().join(format!("vpbench-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let options = smoke_sweep(out.clone());
    let records = run_sweep(&options).unwrap().records;

    // one finished, self-describing record per model, in table order
    let models: Vec<&str> = records.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(models, ["convlstm", "sms-lstm", "tms-lstm", "ms-lstm"]);
    for r in &records {
        assert_eq!(r.status, RunStatus::Finished, "{}", r.run_id);
        assert!(r.data.synthetic && r.data.label.starts_with("synthetic:"));
        assert_eq!(r.backend, "burn 0.22 flex (CPU, f32)");
        let t = r.test.as_ref().unwrap();
        assert!(t.authors.mse.is_finite() && t.authors.mse > 0.0);
        assert!((0.0..=1.0).contains(&t.authors.ssim));
        assert_eq!(t.authors.per_frame.mse.len(), 5); // 3 + 3 frames: S-1 = 5 scored
        assert_eq!(t.common.per_frame.mse.len(), 3); // future frames only
        assert!(r.memory.process_peak_rss_bytes.unwrap() > 1_000_000);
        assert!(r.timing.total_s > 0.0 && r.timing.steps == 4); // 8 clips / batch 4 x 2 epochs
        assert_eq!(r.losses.len(), 2);
        assert!(
            out.join("runs")
                .join(&r.run_id)
                .join("record.json")
                .is_file()
        );
    }
    assert_eq!(records[0].cost.params, 444_001);
    assert_eq!(records[3].cost.macs_paper_config, 64_470_024_192);

    // the results store has one row per run
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");

    let exp = &options.experiment;
    let (written, table) =
        vpbench_reports::paper_table::render_table(&records, exp, "smoke", &out).unwrap();
    assert_eq!(written.len(), 3);
    let figure = vpbench_reports::paper_table::radar(&records, table.provenance[..4].to_vec());
    assert_eq!(figure.render(&out, "fig4_radar").unwrap().len(), 2);

    let md = std::fs::read_to_string(out.join("table3.md")).unwrap();
    for model in ["ConvLSTM", "SMS-LSTM", "TMS-LSTM", "MS-LSTM"] {
        assert!(
            md.lines().any(|l| l.starts_with(&format!("| {model} |"))),
            "{model} row missing:\n{md}"
        );
    }
    // the paper's column is there (MS-LSTM: 52.63 MSE, 64.5 GFLOPs), and how it was measured
    let ms_row = md.lines().find(|l| l.starts_with("| MS-LSTM |")).unwrap();
    assert!(
        ms_row.contains("52.63") && ms_row.contains("| 64.5 | 64.5 |"),
        "{ms_row}"
    );
    assert!(md.contains("Profile: smoke") && md.contains("synthetic:") && md.contains("flex"));

    let mut reader = csv::Reader::from_path(out.join("table3.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("params_m_measured")], "0.444001");
    assert_eq!(&rows[1][col("flops_g_paper")], "15.1");
    let mse: f64 = rows[2][col("mse_measured")].parse().unwrap();
    assert!((mse - records[2].test.as_ref().unwrap().authors.mse).abs() < 1e-9);

    let tex = std::fs::read_to_string(out.join("table3.tex")).unwrap();
    assert!(
        tex.contains("\\begin{tabular}") && tex.contains("MS-LSTM &") && tex.contains("(52.63)")
    );

    let png = std::fs::read(out.join("fig4_radar.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    let svg = std::fs::read_to_string(out.join("fig4_radar.svg")).unwrap();
    assert!(
        svg.contains("<svg")
            && svg.contains("TMS-LSTM")
            && svg.contains("Memory")
            && svg.contains("smoke")
    );

    // a second sweep over the same folder reuses every finished run
    let again = run_sweep(&options).unwrap().records;
    for (a, b) in records.iter().zip(&again) {
        assert_eq!(a.finished_unix, b.finished_unix, "{} was rerun", a.run_id);
    }
    assert_eq!(read_records(&out).unwrap().len(), 4);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_failed_run_is_recorded_and_the_sweep_goes_on() {
    let out = std::env::temp_dir().join(format!("vpbench-e2e-fail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut options = smoke_sweep(out.clone());
    options.experiment.models = vec!["convlstm".into(), "ms-lstm".into()];
    // a learning rate this large drives the loss to infinity within a few steps
    let profile = options.experiment.profile_set.get_mut("smoke").unwrap();
    profile.learning_rate = 1e30;
    profile.epochs = 3;
    let records = run_sweep(&options).unwrap().records;
    assert_eq!(records.len(), 2);
    for r in &records {
        match &r.status {
            RunStatus::Failed { reason } => assert!(reason.contains("loss became"), "{reason}"),
            RunStatus::Finished => panic!("{} should have failed", r.run_id),
        }
        let back = RunRecord::read(&out.join("runs").join(&r.run_id).join("record.json")).unwrap();
        assert_eq!(&back, r);
    }
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.matches(",failed,").count(), 2, "{csv}");
    let _ = std::fs::remove_dir_all(&out);
}

// README: adding a dataset (begin)
use vpbench_datasets::{ClipRequest, DataError, Dataset, Geometry, Provenance, Sequences, TrainTest};

/// Vertical bars drifting one pixel a frame: a dataset with a synthetic twin only.
pub struct DriftingBars;

impl Dataset for DriftingBars {
    fn name(&self) -> &'static str {
        "bars"
    }

    fn paper_geometry(&self) -> Geometry {
        Geometry::square(16, 3, 3)
    }

    fn load(&self, source: &DataSource, request: &ClipRequest) -> Result<TrainTest, DataError> {
        if *source != DataSource::Synthetic {
            return Err(DataError::Config("bars: there are no real files, only the generator".into()));
        }
        let (clips, len, side) = (request.generated_clips, request.len, request.frame_size);
        let mut pixels = vec![0u8; clips * len * side * side];
        for (i, frame) in pixels.chunks_mut(side * side).enumerate() {
            let column = (i / len + i % len) % side; // clip k starts at column k
            for row in 0..side {
                frame[row * side + column] = 255;
            }
        }
        let provenance = Provenance { synthetic: true, source: format!("drifting bars, {clips} clips") };
        let all = Sequences { count: clips, len, channels: 1, height: side, width: side, pixels, provenance };
        let (train, test) = all.split(7, 10);
        Ok(TrainTest::new(train, test))
    }
}
// README: adding a dataset (end)

/// The README's dataset, outside the registry, trains and tests through the same stages as
/// the shipped ones (its registry line is the one thing the example leaves out).
#[test]
fn a_new_dataset_is_one_implementation_and_runs_like_the_shipped_ones() {
    use vpbench_harness::progress::Progress;
    use vpbench_harness::run::{RunPlan, execute};

    let experiment = Experiment::load(&workspace().join("configs/table3.toml")).unwrap();
    let profile = experiment.profile("smoke").unwrap().for_model("convlstm");
    let data = vpbench_harness::data::prepare(&DriftingBars, &DataSource::Synthetic, &profile).unwrap();
    assert_eq!((data.info.dataset.as_str(), data.info.train_clips, data.info.test_clips), ("bars", 8, 4));
    assert!(data.info.synthetic && data.info.label == "synthetic: drifting bars, 16 clips");
    assert_eq!(data.train.clip(1)[..16], [0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let real = vpbench_harness::data::prepare(&DriftingBars, &DataSource::Path("x".into()), &profile);
    assert!(real.err().unwrap().to_string().contains("no real files"));

    let out = std::env::temp_dir().join(format!("vpbench-e2e-bars-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let device = ComputeDevice::parse("cpu").unwrap();
    let plan = RunPlan {
        run_id: "convlstm-bars-smoke".into(),
        model: "convlstm",
        profile_name: "smoke",
        profile,
        dataset: &DriftingBars,
        data: &data,
        device: &device,
        run_dir: out.join("runs/convlstm-bars-smoke"),
        resume: false,
        command: "end_to_end test".into(),
        exit_with_parent: false,
    };
    let record = execute(&plan, &Progress::new(true));
    assert_eq!(record.status, RunStatus::Finished);
    assert_eq!(record.data.dataset, "bars");
    let test = record.test.as_ref().unwrap();
    assert!(test.authors.mse.is_finite() && test.skill.is_none(), "bars are not rain: no skill scores");
    assert!(vpbench_datasets::registry::lookup("bars").is_err());
    let _ = std::fs::remove_dir_all(&out);

    // the README shows this file's example, word for word
    let this_file = std::fs::read_to_string(workspace().join("tests/end_to_end.rs")).unwrap();
    let example = this_file.split("// README: adding a dataset (begin)\n").nth(1).unwrap();
    let example = example.split("// README: adding a dataset (end)").next().unwrap();
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    assert!(readme.contains(example), "README.md's 'Adding a dataset' differs from tests/end_to_end.rs");
}

/// `--seeds 2`: each model runs from the profile's seed and the next, as two runs with their
/// own ids, and the table shows the mean and standard deviation over them beside the paper's
/// single number.
#[test]
fn two_seeds_run_twice_per_model_and_the_table_shows_mean_and_spread() {
    let out = std::env::temp_dir().join(format!("vpbench-e2e-seeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut options = smoke_sweep(out.clone());
    options.experiment.models = vec!["convlstm".into()];
    options.seeds = 2;
    let records = run_sweep(&options).unwrap().records;
    assert_eq!(records.len(), 2);
    assert_eq!((records[0].training.seed, records[1].training.seed), (2022, 2023));
    assert!(!records[0].run_id.contains("-seed") && records[1].run_id.ends_with("-seed2023"), "{}", records[1].run_id);
    let (a, b) = (records[0].test.as_ref().unwrap().authors.mse, records[1].test.as_ref().unwrap().authors.mse);
    assert_ne!(a, b, "another seed, other weights");
    assert_eq!(records[0].data.label, records[1].data.label, "the same data");

    let paper = vpbench_reports::paper::PaperTable::load(&options.experiment.paper).unwrap();
    let table = vpbench_reports::paper_table::table(&records, &paper, &options.experiment, "smoke").unwrap();
    assert_eq!(table.rows.len(), 1);
    let mse = table.columns.iter().position(|c| c.key == "mse").unwrap();
    let row = &table.rows[0];
    assert!((row.measured[mse].unwrap() - (a + b) / 2.0).abs() < 1e-9);
    assert!((row.std[mse].unwrap() - (a - b).abs() / 2f64.sqrt()).abs() < 1e-9);
    let md = table.to_markdown();
    assert!(md.contains(" ± ") && md.contains("Seeds: up to 2 runs per model (ConvLSTM 2022/2023)"), "{md}");
    let _ = std::fs::remove_dir_all(&out);
}

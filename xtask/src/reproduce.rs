//! `cargo xtask reproduce-table N`.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;
use vpbench_harness::data::DataSource;
use vpbench_harness::device::ComputeDevice;
use vpbench_harness::experiment::{Experiment, Profile};
use vpbench_harness::inspect::predict_clip;
use vpbench_harness::metrics::QualityMetrics;
use vpbench_harness::record::RunRecord;
use vpbench_harness::sweep::{SweepOptions, SweepResult, prepare_data, run_one, run_sweep};
use vpbench_reports::curves::{CurveFigure, CurvePanel};
use vpbench_reports::figure::Figure;
use vpbench_reports::frames::{FrameRow, FrameStrip, Palette};
use vpbench_reports::paper_table::{radar, render_table};

use crate::workspace_root;

/// Where the frames come from and where the models run (shared by the tasks that sweep).
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// A dataset file or folder in its real format (Moving MNIST: the authors' .npy, or a
    /// folder with MNIST's train-images-idx3-ubyte[.gz]; KTH and radar: the authors' PNG
    /// folders). Without it: the dataset's built-in synthetic twin.
    #[arg(long, conflicts_with = "mnist")]
    pub data: Option<PathBuf>,
    /// A folder with MNIST's train-images-idx3-ubyte[.gz]: generate Moving MNIST from it.
    #[arg(long)]
    pub mnist: Option<PathBuf>,
    /// cpu, or cuda:N on a build with a GPU backend.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl SourceArgs {
    fn source(&self) -> anyhow::Result<DataSource> {
        DataSource::from_args(self.data.clone(), self.mnist.clone())
    }
    fn device(&self) -> anyhow::Result<ComputeDevice> {
        ComputeDevice::parse(&self.device)
    }
}

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// The paper's table number.
    pub table: u32,
    /// smoke (seconds), quick (about 10 minutes on a CPU) or paper (the paper's settings).
    #[arg(long, default_value = "quick")]
    pub profile: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output folder (default: out/<dataset>-<profile>, shared by the tables of a dataset).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Experiment file (default: configs/table<N>.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Start interrupted runs over instead of continuing from their checkpoints.
    #[arg(long)]
    pub no_resume: bool,
    /// Run again the runs recorded as failed.
    #[arg(long)]
    pub retry_failed: bool,
    /// No progress bars; one line per run.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &ReproduceArgs) -> anyhow::Result<()> {
    let config = args
        .config
        .clone()
        .unwrap_or_else(|| workspace_root().join(format!("configs/table{}.toml", args.table)));
    if !config.is_file() {
        bail!(
            "table {}: no experiment file {} (tables available: {})",
            args.table,
            config.display(),
            available_tables().join(", ")
        );
    }
    let experiment = Experiment::load(&config)?;
    let profile = experiment.profile(&args.profile)?.clone();
    // Tables of one dataset share a folder, so that they share the runs of a profile.
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("out/{}-{}", experiment.dataset, args.profile)));
    let options = SweepOptions {
        experiment: experiment.clone(),
        experiment_file: config.clone(),
        profile: args.profile.clone(),
        source: args.source.source()?,
        device: args.source.device()?,
        out_dir: out_dir.clone(),
        resume: !args.no_resume,
        retry_failed: args.retry_failed,
        quiet: args.quiet,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        // One process per run: memory peaks are the run's own, and a run the system kills
        // (out of memory) is recorded as failed while the sweep goes on.
        isolate: Some((std::env::current_exe()?, vec!["run-one".to_string()])),
        exit_with_parent: false,
        train_missing: true,
    };
    let sweep = run_sweep(&options)?;
    let written = render_outputs(&sweep, &experiment, &profile, &out_dir)?;
    println!("wrote:");
    for path in written {
        println!("  {}", path.display());
    }
    Ok(())
}

/// The table and figures of an experiment from its sweep's records.
fn render_outputs(
    sweep: &SweepResult,
    experiment: &Experiment,
    profile: &Profile,
    out_dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let out_dir = out_dir.to_path_buf();
    let profile = profile.clone();
    let (mut written, table) =
        render_table(&sweep.records, experiment, &profile.description, &out_dir)?;
    let caption = table.provenance[..4].to_vec();
    for figure in &experiment.figures {
        written.extend(match figure.as_str() {
            "fig4_radar" => radar(&sweep.records, caption.clone()).render(&out_dir, figure)?,
            "fig6_frames" | "fig9_frames" => {
                frame_strip(sweep, &out_dir, &profile, caption.clone(), Palette::Grey, figure)?
                    .render(&out_dir, figure)?
            }
            "fig11_frames" => {
                frame_strip(sweep, &out_dir, &profile, caption.clone(), Palette::Rain, figure)?
                    .render(&out_dir, figure)?
            }
            "fig8_curves" => quality_curves(&sweep.records, caption.clone()).render(&out_dir, figure)?,
            "fig10_skill" => skill_curves(&sweep.records, caption.clone()).render(&out_dir, figure)?,
            other => bail!(
                "table {}: unknown figure '{other}' (known: fig4_radar, fig6_frames, fig8_curves, fig9_frames, fig10_skill, fig11_frames)",
                experiment.table
            ),
        });
    }
    Ok(written)
}

/// `cargo xtask figures`: every table and figure again from existing run records, no training.
#[derive(Args, Debug)]
pub struct FiguresArgs {
    /// The profile whose runs to render.
    #[arg(long, default_value = "quick")]
    pub profile: String,
    /// The data and device the runs used (as given to reproduce-table).
    #[command(flatten)]
    pub source: SourceArgs,
    /// Root holding the sweep folders (default: out, with out/<dataset>-<profile> inside).
    #[arg(long, default_value = "out")]
    pub out_root: PathBuf,
}

pub fn figures(args: &FiguresArgs) -> anyhow::Result<bool> {
    let mut tables: Vec<u32> = available_tables()
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    tables.sort();
    let mut rendered = 0;
    for table in tables {
        let config = workspace_root().join(format!("configs/table{table}.toml"));
        let experiment = Experiment::load(&config)?;
        let Ok(profile) = experiment.profile(&args.profile).cloned() else {
            continue;
        };
        let out_dir = args
            .out_root
            .join(format!("{}-{}", experiment.dataset, args.profile));
        let options = SweepOptions {
            experiment: experiment.clone(),
            experiment_file: config.clone(),
            profile: args.profile.clone(),
            source: args.source.source()?,
            device: args.source.device()?,
            out_dir: out_dir.clone(),
            resume: false,
            retry_failed: false,
            quiet: true,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            isolate: None,
            exit_with_parent: false,
            train_missing: false,
        };
        match run_sweep(&options) {
            Ok(sweep) => {
                for path in render_outputs(&sweep, &experiment, &profile, &out_dir)? {
                    println!("table {table}: wrote {}", path.display());
                }
                rendered += 1;
            }
            Err(e) => println!("table {table}: skipped: {e:#}"),
        }
    }
    println!("figures: {rendered} tables rendered from existing records");
    Ok(rendered > 0)
}

/// Fig. 8: SSIM and PSNR of each model by predicted frame (authors' convention).
fn quality_curves(records: &[RunRecord], caption: Vec<String>) -> CurveFigure {
    let finished: Vec<&RunRecord> = records.iter().filter(|r| r.is_finished()).collect();
    let curve = |pick: fn(&QualityMetrics) -> &Vec<f64>| -> Vec<(String, Vec<(f64, f64)>)> {
        finished
            .iter()
            .filter_map(|r| {
                let m = &r.test.as_ref()?.authors;
                let points = m
                    .frames
                    .iter()
                    .map(|&f| f as f64)
                    .zip(pick(m).iter().copied())
                    .collect();
                Some((r.paper_name.clone(), points))
            })
            .collect()
    };
    CurveFigure {
        title: "Fig. 8: per-frame SSIM and PSNR (authors' convention; frame = ground-truth frame scored)".into(),
        caption,
        panels: vec![
            CurvePanel { title: "SSIM".into(), x_label: "frame".into(), series: curve(|m| &m.per_frame.ssim) },
            CurvePanel { title: "PSNR (dB)".into(), x_label: "frame".into(), series: curve(|m| &m.per_frame.psnr) },
        ],
        columns: 2,
    }
}

/// Fig. 10: CSI and HSS of each model by predicted frame at 0.5, 2 and 5 mm/h.
fn skill_curves(records: &[RunRecord], caption: Vec<String>) -> CurveFigure {
    let mut panels = Vec::new();
    for score in ["CSI", "HSS"] {
        for rain in [0.5, 2.0, 5.0] {
            let series = records
                .iter()
                .filter(|r| r.is_finished())
                .filter_map(|r| {
                    let test = r.test.as_ref()?;
                    let t = test
                        .skill
                        .as_ref()?
                        .thresholds
                        .iter()
                        .find(|t| t.rain_mm_h == rain)?;
                    let values = if score == "CSI" { &t.csi } else { &t.hss };
                    let points = test
                        .authors
                        .frames
                        .iter()
                        .map(|&f| f as f64)
                        .zip(values.iter().copied())
                        .collect();
                    Some((r.paper_name.clone(), points))
                })
                .collect();
            panels.push(CurvePanel {
                title: format!("{score} at {rain} mm/h"),
                x_label: "frame".into(),
                series,
            });
        }
    }
    CurveFigure {
        title:
            "Fig. 10: CSI and HSS by predicted frame (counts pooled over the test set per frame)"
                .into(),
        caption,
        panels,
        columns: 3,
    }
}

/// Frame strips (Figs. 6, 9, 11): the inputs, the ground truth and each model's prediction of test clip 0.
fn frame_strip(
    sweep: &SweepResult,
    out_dir: &Path,
    profile: &Profile,
    caption: Vec<String>,
    palette: Palette,
    figure: &str,
) -> anyhow::Result<FrameStrip> {
    let clips = &sweep.data.test;
    let clip: Vec<Vec<f32>> = clips
        .clip(0)
        .chunks(clips.frame_size())
        .map(|f| f.iter().map(|&p| p as f32 / 255.0).collect())
        .collect();
    let (inputs, future) = clip.split_at(profile.in_len);
    let mut rows = vec![
        FrameRow {
            label: "Input".into(),
            frames: inputs.to_vec(),
            first_column: 0,
        },
        FrameRow {
            label: "Ground truth".into(),
            frames: future.to_vec(),
            first_column: profile.in_len,
        },
    ];
    for record in sweep.records.iter().filter(|r| r.is_finished()) {
        let predicted = predict_clip(record, &SweepResult::run_dir(out_dir, record), clips, 0)?;
        rows.push(FrameRow {
            label: record.paper_name.clone(),
            frames: predicted[predicted.len() - profile.out_len..].to_vec(),
            first_column: profile.in_len,
        });
    }
    let number = figure
        .trim_start_matches("fig")
        .split('_')
        .next()
        .unwrap_or("?");
    Ok(FrameStrip {
        palette,
        title: format!(
            "Fig. {number}: test clip 0, inputs, ground truth and each model's prediction"
        ),
        caption,
        height: clips.height,
        width: clips.width,
        columns: profile.in_len + profile.out_len,
        rows,
    })
}

fn available_tables() -> Vec<String> {
    let mut tables: Vec<String> = std::fs::read_dir(workspace_root().join("configs"))
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(
                name.strip_prefix("table")?
                    .strip_suffix(".toml")?
                    .to_string(),
            )
        })
        .collect();
    tables.sort();
    tables
}

/// `cargo xtask run-one`: one run of a sweep, started by `reproduce-table` in its own process.
#[derive(Args, Debug)]
pub struct RunOneArgs {
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long)]
    pub profile: String,
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub source: SourceArgs,
    #[arg(long)]
    pub out: PathBuf,
    /// The sweep's command line, for the record.
    #[arg(long, default_value = "")]
    pub command: String,
    #[arg(long)]
    pub no_resume: bool,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run_one_task(args: &RunOneArgs) -> anyhow::Result<()> {
    let experiment = Experiment::load(&args.config)?;
    let options = SweepOptions {
        experiment: experiment.clone(),
        experiment_file: args.config.clone(),
        profile: args.profile.clone(),
        source: args.source.source()?,
        device: args.source.device()?,
        out_dir: args.out.clone(),
        resume: !args.no_resume,
        retry_failed: true,
        quiet: args.quiet,
        command: args.command.clone(),
        isolate: None,
        exit_with_parent: true,
        train_missing: true,
    };
    let data = prepare_data(&options)?;
    let progress = vpbench_harness::progress::Progress::new(args.quiet);
    run_one(&options, &args.model, &data, &progress)?;
    Ok(())
}

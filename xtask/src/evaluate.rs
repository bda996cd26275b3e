//! `cargo xtask evaluate --dimension horizon|robustness|generalisation --table N`: a table's
//! trained models (their tested weights, from the run records; nothing is trained) scored on
//! changed test sets: longer horizons, perturbed inputs, another dataset of the same
//! geometry. Each dimension writes a table (Markdown, CSV, JSON) and a per-frame figure.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use vpbench_datasets::{DataSource, Dataset, Sequences, registry as datasets};
use vpbench_harness::atomic::write_atomic;
use vpbench_harness::data::prepare;
use vpbench_harness::device::ComputeDevice;
use vpbench_harness::experiment::{Experiment, Profile};
use vpbench_harness::metrics::QualityMetrics;
use vpbench_harness::perturb::{drop_input_frame, half_frame_rate, noisy_inputs};
use vpbench_harness::record::RunRecord;
use vpbench_harness::run::score_test_set;
use vpbench_models::registry;
use vpbench_reports::curves::{CurveFigure, CurvePanel};
use vpbench_reports::figure::Figure;
use vpbench_reports::paper_table::distinct;

use crate::reproduce::{SourceArgs, recorded_sweep};
use crate::workspace_root;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// Rolled out autoregressively to 1x, 2x and 3x the trained horizon (recurrent models).
    Horizon,
    /// A dropped input frame, Gaussian noise on the inputs, half the frame rate.
    Robustness,
    /// Trained on one dataset's clips, tested on another's of the same geometry (Moving
    /// MNIST digits -> Fashion-MNIST clips from the same generator).
    Generalisation,
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    #[arg(long, value_enum)]
    pub dimension: Dimension,
    /// The table whose trained models are evaluated (configs/table<N>.toml).
    #[arg(long, default_value_t = 3)]
    pub table: u32,
    /// The profile the models were trained in.
    #[arg(long, default_value = "quick")]
    pub profile: String,
    /// The data and device of the runs (as given to reproduce-table).
    #[command(flatten)]
    pub source: SourceArgs,
    /// The sweep folder holding the runs (default: out/<dataset>-<profile>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Generalisation: the other dataset's MNIST-format image files (Debian's
    /// dataset-fashion-mnist installs Fashion-MNIST here).
    #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
    pub other_digits: PathBuf,
    /// Robustness: the noise's standard deviation on the [0, 1] pixel scale.
    #[arg(long, default_value_t = 0.05)]
    pub noise_sigma: f64,
}

/// One changed test set, and the profile (lengths) it is scored at.
struct Variant {
    name: String,
    profile: Profile,
    clips: Sequences,
    /// Whether models that predict a fixed number of frames (SimVP, Earthformer) can be scored.
    fixed_horizon_ok: bool,
}

/// A model's scores on every variant (`Err`: why it was not scored there).
#[derive(Serialize, Deserialize)]
struct ModelScores {
    model: String,
    paper_name: String,
    run_id: String,
    scores: Vec<Result<QualityMetrics, String>>,
}

#[derive(Serialize, Deserialize)]
pub struct DimensionReport {
    dimension: Dimension,
    table: u32,
    profile: String,
    variants: Vec<String>,
    variant_data: Vec<String>,
    provenance: Vec<String>,
    models: Vec<ModelScores>,
}

pub fn run(args: &EvaluateArgs) -> anyhow::Result<bool> {
    let experiment = Experiment::load(&workspace_root().join(format!("configs/table{}.toml", args.table)))?;
    let profile = experiment.profile(&args.profile)?.clone();
    let out_dir = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("out/{}-{}", experiment.dataset, args.profile)));
    let sweep = recorded_sweep(&experiment, &args.profile, &args.source, &out_dir)?;
    let dataset = datasets::lookup(&experiment.dataset)?;
    let variants = variants(args, dataset, &profile, &sweep.data.test)?;
    let device = args.source.device()?;
    let mut models = Vec::new();
    for record in sweep.records.iter().filter(|r| r.is_finished()) {
        let weights = out_dir.join("runs").join(&record.run_id).join("final.safetensors");
        let scores = score_run(record, &weights, &variants, dataset, &device);
        models.push(ModelScores { model: record.model.clone(), paper_name: record.paper_name.clone(), run_id: record.run_id.clone(), scores });
    }
    let report = DimensionReport {
        dimension: args.dimension,
        table: experiment.table,
        profile: args.profile.clone(),
        variants: variants.iter().map(|v| v.name.clone()).collect(),
        variant_data: variants.iter().map(|v| v.clips.provenance.label()).collect(),
        provenance: provenance(args, &sweep.records, &variants),
        models,
    };
    write_outputs(&report, &out_dir)?;
    Ok(report.models.iter().all(|m| m.scores.iter().any(Result::is_ok)))
}

/// The test sets of the dimension, all from the dataset's own source but the other
/// dataset of generalisation.
/// `clean` is the sweep's own test set, already read.
fn variants(args: &EvaluateArgs, dataset: &dyn Dataset, profile: &Profile, clean: &Sequences) -> anyhow::Result<Vec<Variant>> {
    let source = args.source.source()?;
    let test = |p: &Profile, source: &DataSource| -> anyhow::Result<Sequences> { Ok(prepare(dataset, source, p)?.test) };
    let variant = |name: String, profile: Profile, clips, fixed_horizon_ok| Variant { name, profile, clips, fixed_horizon_ok };
    let clean = clean.clone();
    Ok(match args.dimension {
        Dimension::Horizon => {
            let mut out = Vec::new();
            for factor in 1..=3 {
                let mut p = profile.clone();
                p.out_len *= factor;
                let name = format!("{factor}x horizon ({} -> {})", p.in_len, p.out_len);
                // real files may hold too few frames for the longer horizons: those are left out
                let clips = if factor == 1 { Ok(clean.clone()) } else { test(&p, &source) };
                match clips {
                    Ok(clips) => out.push(variant(name, p.clone(), clips, factor == 1)),
                    Err(e) if factor > 1 => println!("evaluate horizon: {name} left out: {e:#}"),
                    Err(e) => return Err(e),
                }
            }
            out
        }
        Dimension::Robustness => {
            let mut doubled = profile.clone();
            (doubled.in_len, doubled.out_len) = (2 * profile.in_len, 2 * profile.out_len - 1);
            let dropped_frame = (profile.in_len / 2).max(1);
            vec![
                variant("clean".into(), profile.clone(), clean.clone(), true),
                variant(format!("input frame {} dropped", dropped_frame + 1), profile.clone(), drop_input_frame(&clean, dropped_frame), true),
                variant(format!("noise sigma {}", args.noise_sigma), profile.clone(), noisy_inputs(&clean, profile.in_len, args.noise_sigma, profile.seed), true),
                variant("half frame rate".into(), profile.clone(), half_frame_rate(&test(&doubled, &source)?), true),
            ]
        }
        Dimension::Generalisation => {
            if dataset.name() != "mmnist" {
                bail!("--dimension generalisation: defined for Moving MNIST (digits -> Fashion-MNIST), not for {}", dataset.name());
            }
            let other = DataSource::MnistDigits(args.other_digits.clone());
            let fashion = test(profile, &other).with_context(|| {
                format!("--other-digits {}: Fashion-MNIST's idx files (Debian: apt install dataset-fashion-mnist)", args.other_digits.display())
            })?;
            vec![
                variant("trained dataset".into(), profile.clone(), clean, true),
                variant(format!("other digits ({})", args.other_digits.display()), profile.clone(), fashion, true),
            ]
        }
    })
}

/// The run's tested weights on every variant, future frames only (the common convention);
/// the model is built and its weights read again only where a variant's lengths differ.
fn score_run(record: &RunRecord, weights: &std::path::Path, variants: &[Variant], dataset: &dyn Dataset, device: &ComputeDevice) -> Vec<Result<QualityMetrics, String>> {
    let mut built: Option<vpbench_models::Model> = None;
    variants
        .iter()
        .map(|variant| {
            let entry = registry::lookup(&record.model)?;
            if !variant.fixed_horizon_ok && entry.family != "RNN" {
                bail!("not applicable: {} predicts a fixed number of frames", record.paper_name);
            }
            let profile = variant.profile.for_model(&record.model);
            let config = profile.model_config();
            if built.as_ref().is_none_or(|m| *m.config() != config) {
                let mut model = registry::build(&record.model, &config, &device.device)?;
                model.load_weights(weights)?;
                built = Some(model);
            }
            let model = built.as_ref().expect("built above");
            Ok(score_test_set(model, &variant.clips, &profile, dataset)?.common)
        })
        .map(|scored: anyhow::Result<QualityMetrics>| scored.map_err(|e| format!("{e:#}")))
        .collect()
}

fn provenance(args: &EvaluateArgs, records: &[RunRecord], variants: &[Variant]) -> Vec<String> {
    let distinct = |f: fn(&RunRecord) -> String| distinct(records, f);
    let mut lines = vec![
        format!("Models: the tested weights of the profile-{} runs (trained on: {})", args.profile, distinct(|r| r.data.label.clone())),
        format!("Backend: {}; device: {}", distinct(|r| r.backend.clone()), distinct(|r| r.device.clone())),
        "Scores: common convention, the predicted future frames only (MSE/MAE: per-frame pixel sums on [0,1]; SSIM uniform 7x7)".into(),
    ];
    for v in variants {
        lines.push(format!("{}: {}", v.name, v.clips.provenance.label()));
    }
    lines.push(format!("Commit: {}; command: {}", vpbench_harness::host::build_commit(), std::env::args().collect::<Vec<_>>().join(" ")));
    lines
}

fn write_outputs(report: &DimensionReport, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let dimension = format!("{:?}", report.dimension).to_lowercase();
    let stem = DimensionReport::stem(report.dimension, report.table);
    let mut written = vec![out_dir.join(format!("{stem}.json"))];
    write_atomic(&written[0], serde_json::to_string_pretty(report)?.as_bytes())?;
    for (ext, body) in [("md", to_markdown(report)), ("csv", to_csv(report)?)] {
        let path = out_dir.join(format!("{stem}.{ext}"));
        write_atomic(&path, body.as_bytes())?;
        written.push(path);
    }
    written.extend(figure(report).render(out_dir, &stem)?);
    for path in written {
        println!("evaluate {dimension}: wrote {}", path.display());
    }
    Ok(())
}

impl DimensionReport {
    /// The report `<dimension>-table<N>.json` in `dir` holds, if any.
    pub fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: not an evaluation report", path.display()))
    }

    pub fn title(&self) -> String {
        format!("{:?}: table {} models, profile {}", self.dimension, self.table, self.profile)
    }

    /// The file stem of its outputs (`robustness-table3`).
    pub fn stem(dimension: Dimension, table: u32) -> String {
        format!("{}-table{table}", format!("{dimension:?}").to_lowercase())
    }

    pub fn provenance(&self) -> &[String] {
        &self.provenance
    }

    /// Header and rows: MSE and SSIM on each variant, and MSE's change against the first.
    pub fn cells(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut header = vec!["Model".to_string()];
        for (i, v) in self.variants.iter().enumerate() {
            header.push(format!("{v}: MSE"));
            if i > 0 {
                header.push("Δ MSE".into());
            }
            header.push(format!("{v}: SSIM"));
        }
        let rows = self.models.iter().map(|m| model_cells(m)).collect();
        (header, rows)
    }
}

fn model_cells(m: &ModelScores) -> Vec<String> {
    let mut row = vec![m.paper_name.clone()];
    let reference = m.scores[0].as_ref().ok().map(|q| q.mse);
    for (i, s) in m.scores.iter().enumerate() {
        match s {
            Ok(q) => {
                row.push(format!("{:.3}", q.mse));
                if i > 0 {
                    row.push(reference.map_or("–".into(), |r| format!("{:+.1}%", 100.0 * (q.mse - r) / r)));
                }
                row.push(format!("{:.4}", q.ssim));
            }
            Err(why) => {
                row.push(why.clone());
                row.extend(std::iter::repeat_n("–".to_string(), if i > 0 { 2 } else { 1 }));
            }
        }
    }
    row
}

fn to_markdown(report: &DimensionReport) -> String {
    let mut out = format!("# {}\n\n", report.title());
    for line in &report.provenance {
        let _ = writeln!(out, "- {line}");
    }
    let (header, rows) = report.cells();
    let _ = writeln!(out, "\n| {} |", header.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(header.len() - 1));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "/")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

fn to_csv(report: &DimensionReport) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["model", "variant", "data", "mse", "mae", "ssim", "psnr", "status"])?;
    for m in &report.models {
        for ((variant, data), s) in report.variants.iter().zip(&report.variant_data).zip(&m.scores) {
            let cells = match s {
                Ok(q) => [q.mse, q.mae, q.ssim, q.psnr].map(|x| x.to_string()),
                Err(_) => Default::default(),
            };
            let status = s.as_ref().err().map_or("scored".to_string(), Clone::clone);
            w.write_record([m.model.as_str(), variant, data, &cells[0], &cells[1], &cells[2], &cells[3], &status])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Per-frame MSE by lead time: one panel per variant, one line per model.
fn figure(report: &DimensionReport) -> CurveFigure {
    let panels = report
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| CurvePanel {
            title: format!("{v}: MSE per frame"),
            x_label: "lead time (predicted frame)".into(),
            series: report
                .models
                .iter()
                .filter_map(|m| {
                    let q = m.scores[i].as_ref().ok()?;
                    Some((m.paper_name.clone(), q.per_frame.mse.iter().enumerate().map(|(k, &e)| ((k + 1) as f64, e)).collect()))
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    CurveFigure {
        title: format!("{:?} of table {}'s models (profile {})", report.dimension, report.table, report.profile),
        caption: report.provenance[..2].to_vec(),
        columns: panels.len().min(2),
        panels,
    }
}

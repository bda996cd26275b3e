//! One of the paper's tables, reproduced from run records, with its figures.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::bail;
use vpbench_harness::atomic::write_atomic;
use vpbench_harness::experiment::{Experiment, ScoredFrames};
use vpbench_harness::record::{RunRecord, RunStatus};
use vpbench_models::registry;

use crate::comparison::{Column, ComparisonTable, Row};
use crate::paper::PaperTable;
use crate::radar::{RadarAxis, RadarChart, RadarSeries};

/// Header and printed decimals of each reproducible column.
fn column(key: &str) -> anyhow::Result<Column> {
    if let Some(k) = lead_time(key) {
        return Ok(Column {
            key: key.into(),
            header: format!("MSE frame {k}"),
            decimals: 3,
        });
    }
    let (header, decimals) = match key {
        "params_m" => ("Params (M)", 3),
        "memory_gb" => ("Memory (GB)", 3),
        "flops_g" => ("FLOPs (G)", 1),
        "time_h" => ("Time (h)", 4),
        "mse" => ("MSE", 2),
        "mae" => ("MAE", 1),
        "ssim" => ("SSIM", 3),
        "psnr" => ("PSNR", 2),
        "csi_0.5" => ("CSI 0.5", 3),
        "csi_2" => ("CSI 2", 3),
        "csi_5" => ("CSI 5", 3),
        "hss_0.5" => ("HSS 0.5", 3),
        "hss_2" => ("HSS 2", 3),
        "hss_5" => ("HSS 5", 3),
        other => bail!(
            "unknown table column '{other}'; known: basics, params_m, memory_gb, flops_g, time_h, mse, mae, ssim, psnr, frame<K> (MSE of predicted frame K), csi_0.5, csi_2, csi_5, hss_0.5, hss_2, hss_5"
        ),
    };
    Ok(Column {
        key: key.into(),
        header: header.into(),
        decimals,
    })
}

/// `frame<K>`: the lead time K (1 = the first predicted frame), as Table 8 names its columns.
fn lead_time(key: &str) -> Option<usize> {
    key.strip_prefix("frame")?.parse().ok().filter(|&k| k >= 1)
}

/// The batch at which the paper printed a model's FLOPs (1 where unknown).
fn flops_batch(model: &str) -> usize {
    registry::lookup(model).map_or(1, |e| e.paper_flops_batch)
}

/// The measured value of a column for one run (quality over all output frames).
pub fn measured(r: &RunRecord, key: &str) -> Option<f64> {
    measured_on(r, key, ScoredFrames::All)
}

/// The mean of an authors'-convention quality metric over the future frames only.
fn future_mean(r: &RunRecord, key: &str) -> Option<f64> {
    let m = &r.test.as_ref()?.authors;
    let per_frame = match key {
        "mse" => &m.per_frame.mse,
        "mae" => &m.per_frame.mae,
        "ssim" => &m.per_frame.ssim,
        "psnr" => &m.per_frame.psnr,
        _ => return None,
    };
    let future: Vec<f64> =
        m.frames.iter().zip(per_frame).filter(|(f, _)| **f > r.model_config.in_len).map(|(_, v)| *v).collect();
    (!future.is_empty()).then(|| future.iter().sum::<f64>() / future.len() as f64)
}

/// The measured value of a column for one run, its quality columns over `scored` frames.
pub fn measured_on(r: &RunRecord, key: &str, scored: ScoredFrames) -> Option<f64> {
    match key {
        "mse" | "mae" | "ssim" | "psnr" if scored == ScoredFrames::Future && r.status == RunStatus::Finished => {
            future_mean(r, key)
        }
        "params_m" => Some(r.cost.params as f64 / 1e6),
        // the paper's convention: the MACs of one pass at the batch it profiled
        "flops_g" => Some(
            match r.cost.macs_paper_batch {
                0 => r.cost.macs_paper_config * flops_batch(&r.model) as u64,
                macs => macs,
            } as f64
                / 1e9,
        ),
        _ if r.status != RunStatus::Finished => None,
        "memory_gb" => r.memory.headline_bytes().map(|b| b as f64 / 1e9),
        "time_h" => Some(r.timing.total_s / 3600.0),
        "mse" => r.test.as_ref().map(|t| t.authors.mse),
        "mae" => r.test.as_ref().map(|t| t.authors.mae),
        "ssim" => r.test.as_ref().map(|t| t.authors.ssim),
        "psnr" => r.test.as_ref().map(|t| t.authors.psnr),
        _ if lead_time(key).is_some() => {
            // MSE of the ground-truth frame in_len + K, as the authors' frame-wise export
            let frame = r.model_config.in_len + lead_time(key)?;
            let m = &r.test.as_ref()?.authors;
            let i = m.frames.iter().position(|&f| f == frame)?;
            m.per_frame.mse.get(i).copied()
        }
        skill => {
            // csi_<mm/h> or hss_<mm/h>: the mean over lead times at that rain threshold
            let (score, rain) = skill.split_once('_')?;
            let rain: f64 = rain.parse().ok()?;
            let thresholds = &r.test.as_ref()?.skill.as_ref()?.thresholds;
            let t = thresholds
                .iter()
                .find(|t| (t.rain_mm_h - rain).abs() < 1e-9)?;
            match score {
                "csi" => Some(t.mean_csi),
                "hss" => Some(t.mean_hss),
                "pod" => Some(t.mean_pod),
                "far" => Some(t.mean_far),
                _ => None,
            }
        }
    }
}

/// The bootstrap 95% interval of a quality column (authors' convention, over the frames the
/// table scores), where the record has one.
fn interval(r: &RunRecord, key: &str, scored: ScoredFrames) -> Option<[f64; 2]> {
    let m = &r.test.as_ref()?.authors;
    let intervals = match scored {
        ScoredFrames::All => m.interval95.as_ref()?,
        ScoredFrames::Future => m.interval95_future.as_ref()?,
    };
    match key {
        "mse" => Some(intervals.mse),
        "mae" => Some(intervals.mae),
        "ssim" => Some(intervals.ssim),
        "psnr" => Some(intervals.psnr),
        _ => None,
    }
}

fn exp_has_skill(columns: &[String]) -> bool {
    columns
        .iter()
        .any(|c| c.starts_with("csi_") || c.starts_with("hss_"))
}

/// One line per fact that describes how the numbers were measured.
pub fn provenance(
    records: &[RunRecord],
    profile_description: &str,
    columns: &[String],
    scored: ScoredFrames,
) -> Vec<String> {
    let mut lines = run_facts(records, profile_description);
    lines.extend(cost_notes(records, columns));
    lines.extend(measurement_notes(records, columns, scored));
    lines.push(format!("Commit: {}", distinct(records, |r| r.host.git_commit.clone())));
    lines
}

/// The distinct values of `f` over the records, joined by ` | `.
pub fn distinct(records: &[RunRecord], f: impl Fn(&RunRecord) -> String) -> String {
    records.iter().map(f).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(" | ")
}

/// Profile, data, backend and host of the runs.
fn run_facts(records: &[RunRecord], profile_description: &str) -> Vec<String> {
    vec![
        format!("Profile: {} ({profile_description})", distinct(records, |r| r.profile.clone())),
        format!("Data: {}", distinct(records, |r| r.data.label.clone())),
        format!(
            "Backend: {}; device: {}",
            distinct(records, |r| r.backend.clone()),
            distinct(records, |r| r.device.clone())
        ),
        format!(
            "Host: {}",
            distinct(records, |r| format!("{} ({} cores), {}", r.host.cpu, r.host.cpu_cores, r.host.gpu))
        ),
    ]
}

/// How params and FLOPs were counted, where the table shows them.
fn cost_notes(records: &[RunRecord], columns: &[String]) -> Vec<String> {
    let has = |k: &str| columns.iter().any(|c| c == k);
    let mut lines = Vec::new();
    if has("params_m") || has("flops_g") {
        lines.push(
            "Params (M) and FLOPs (G, multiply-accumulates, thop convention) are counted at the paper's \
             configuration of the dataset (32 hidden, 6 layers) from the executed operations"
                .into(),
        );
        let batched: Vec<String> = records
            .iter()
            .filter(|r| flops_batch(&r.model) > 1)
            .map(|r| {
                format!(
                    "{} x{} ({:.2} G per sequence)",
                    r.paper_name,
                    flops_batch(&r.model),
                    r.cost.macs_paper_config as f64 / 1e9
                )
            })
            .collect();
        if has("flops_g") && !batched.is_empty() {
            lines.push(format!(
                "FLOPs at the batch the paper profiled: {}; the others per sequence (batch 1)",
                batched.join(", ")
            ));
        }
    }
    lines
}

/// What the time, memory and quality columns measure, where the table shows them.
fn measurement_notes(records: &[RunRecord], columns: &[String], scored: ScoredFrames) -> Vec<String> {
    let has = |k: &str| columns.iter().any(|c| c == k);
    let mut lines = Vec::new();
    if has("basics") {
        lines.push(
            "Training: each model's own recipe where the profile names one (see each run record)"
                .into(),
        );
    }
    if has("memory_gb") {
        lines.push(format!(
            "Memory (GB = 1e9 bytes): {}",
            distinct(records, |r| r.memory.measured_as.clone())
        ));
    }
    if has("time_h") {
        lines.push(
            "Time (h): wall clock of this profile's run on this machine: training, validation and the test with its \
             metrics, as the authors' time(H) counts from the start of train_and_test; it leaves out the per-epoch \
             checkpoint writes (the authors' torch.save calls are inside theirs) and, as theirs, data loading and model \
             construction. The paper's is its full training on 4 x A100"
                .into(),
        );
    }
    if exp_has_skill(columns) {
        lines.push(
            "CSI/HSS: contingency counts pooled over the test set per lead time and rain threshold \
             (mm/h, DWD Z-R: Z = 256 R^1.42), averaged over the S-1 predicted frames (authors' convention)"
                .into(),
        );
    }
    if columns.iter().any(|c| lead_time(c).is_some()) {
        lines.push(
            "MSE frame K: pixel-sum squared error on [0,1] of the K-th predicted frame (lead time K), \
             clipped predictions, averaged over the test clips (authors' frame-wise export)"
                .into(),
        );
    }
    if ["mse", "mae", "ssim", "psnr"].iter().any(|k| has(k)) {
        lines.push(format!(
            "Quality intervals [low, high]: percentile bootstrap 95% over the test clips ({} resamples, seeded)",
            vpbench_harness::metrics::BOOTSTRAP_RESAMPLES
        ));
        lines.push(match scored {
            ScoredFrames::All => "Quality: authors' convention (all S-1 output frames, clipped; MSE/MAE per-frame pixel sums on [0,1]; \
                 Gaussian-11 SSIM); the common (future-frames) convention is in each run record"
                .into(),
            ScoredFrames::Future => "Quality: authors' definitions (clipped; MSE/MAE per-frame pixel sums on [0,1]; Gaussian-11 SSIM) \
                 averaged over the out_len future frames only, for every model: the non-recurrent models predict only those, \
                 so the recurrent models' re-predictions of observed frames (which the authors' code also scores) are left out"
                .into(),
        });
    }
    lines
}

/// One table column's values, one per model: measured (the mean over its seeds), their
/// standard deviation (several seeds), the paper's, and the difference (absent where either
/// is).
struct ColumnValues {
    measured: Vec<Option<f64>>,
    std: Vec<Option<f64>>,
    paper: Vec<Option<f64>>,
    delta: Vec<Option<f64>>,
}

/// The records of each model in table order: one, or one per seed with `--seeds`.
pub fn by_model(records: &[RunRecord]) -> Vec<Vec<&RunRecord>> {
    let mut groups: Vec<Vec<&RunRecord>> = Vec::new();
    for r in records {
        match groups.iter_mut().find(|g| g[0].model == r.model) {
            Some(g) => g.push(r),
            None => groups.push(vec![r]),
        }
    }
    groups
}

/// Mean and sample standard deviation (`None` below 2 values).
fn mean_std(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (None, None);
    }
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.len() > 1).then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (Some(mean), std)
}

fn column_values(groups: &[Vec<&RunRecord>], paper: &PaperTable, key: &str, scored: ScoredFrames) -> ColumnValues {
    let (measured, std): (Vec<_>, Vec<_>) = groups
        .iter()
        .map(|g| mean_std(&g.iter().filter_map(|r| measured_on(r, key, scored)).collect::<Vec<_>>()))
        .unzip();
    let paper: Vec<Option<f64>> = groups.iter().map(|g| paper.value(&g[0].paper_name, key)).collect();
    let delta = measured.iter().zip(&paper).map(|(m, p)| Some((*m)? - (*p)?)).collect();
    ColumnValues { measured, std, paper, delta }
}

pub fn table(
    records: &[RunRecord],
    paper: &PaperTable,
    exp: &Experiment,
    profile_description: &str,
) -> anyhow::Result<ComparisonTable> {
    let labelled = exp.columns.iter().any(|k| k == "basics");
    let columns = exp.columns.iter().filter(|k| *k != "basics").map(|k| column(k)).collect::<anyhow::Result<Vec<_>>>()?;
    let groups = by_model(records);
    let values: Vec<ColumnValues> = columns.iter().map(|c| column_values(&groups, paper, &c.key, exp.scored_frames)).collect();
    let rows = groups
        .iter()
        .enumerate()
        .map(|(i, g)| Row {
            model: g[0].paper_name.clone(),
            label: labelled.then(|| registry::lookup(&g[0].model).map_or("?", |e| e.family).to_string()),
            // a model fails where no run of it finished
            failure: g.iter().all(|r| !r.is_finished()).then(|| match &g[0].status {
                RunStatus::Failed { reason } => reason.clone(),
                RunStatus::Finished => unreachable!("filtered"),
            }),
            measured: values.iter().map(|v| v.measured[i]).collect(),
            std: values.iter().map(|v| v.std[i]).collect(),
            // the bootstrap interval of a single run; several seeds show their spread instead
            interval: columns.iter().map(|c| if g.len() == 1 { interval(g[0], &c.key, exp.scored_frames) } else { None }).collect(),
            paper: values.iter().map(|v| v.paper[i]).collect(),
            delta: values.iter().map(|v| v.delta[i]).collect(),
        })
        .collect();
    let mut provenance = provenance(records, profile_description, &exp.columns, exp.scored_frames);
    let most = groups.iter().map(Vec::len).max().unwrap_or(1);
    if most > 1 {
        provenance.push(format!(
            "Seeds: up to {most} runs per model ({}): mean ± sample standard deviation over the finished ones",
            groups.iter().map(|g| format!("{} {}", g[0].paper_name, g.iter().map(|r| r.training.seed.to_string()).collect::<Vec<_>>().join("/"))).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(ComparisonTable {
        title: format!("Table {}: {}", exp.table, exp.title),
        label_header: labelled.then(|| "Basics".to_string()),
        provenance,
        columns,
        rows,
    })
}

/// Fig. 4: params, FLOPs, memory, time and MSE of each model, each axis divided by its
/// largest value, so that closer to the centre is better.
pub fn radar(records: &[RunRecord], caption: Vec<String>) -> RadarChart {
    let axes = [
        ("params_m", "Params"),
        ("flops_g", "FLOPs"),
        ("memory_gb", "Memory"),
        ("time_h", "Time"),
        ("mse", "MSE"),
    ];
    let finished: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.status == RunStatus::Finished)
        .collect();
    let max: Vec<f64> = axes
        .iter()
        .map(|(k, _)| {
            finished
                .iter()
                .filter_map(|r| measured(r, k))
                .fold(0.0, f64::max)
        })
        .collect();
    RadarChart {
        title: "Fig. 4: cost and error of the ablation models (normalised; closer to the centre is better)".into(),
        axes: axes.iter().map(|(_, name)| RadarAxis { name: name.to_string() }).collect(),
        series: finished
            .iter()
            .map(|r| RadarSeries {
                name: r.paper_name.clone(),
                values: axes
                    .iter()
                    .zip(&max)
                    .map(|((k, _), m)| measured(r, k).map_or(0.0, |v| if *m > 0.0 { v / m } else { 0.0 }))
                    .collect(),
            })
            .collect(),
        caption,
    }
}

/// Writes `table<N>.{md,csv,tex}` into `dir`; returns the paths and the table.
pub fn render_table(
    records: &[RunRecord],
    exp: &Experiment,
    profile_description: &str,
    dir: &Path,
) -> anyhow::Result<(Vec<PathBuf>, ComparisonTable)> {
    let paper = PaperTable::load(&exp.paper)?;
    let t = table(records, &paper, exp, profile_description)?;
    let mut written = Vec::new();
    for (ext, body) in [
        ("md", t.to_markdown()),
        ("csv", t.to_csv()?),
        ("tex", t.to_latex()),
    ] {
        let path = dir.join(format!("table{}.{ext}", exp.table));
        write_atomic(&path, body.as_bytes())?;
        written.push(path);
    }
    Ok((written, t))
}

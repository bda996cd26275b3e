//! Table 3 (ablation on Moving MNIST) and its Fig. 4 radar chart, from run records.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use vpbench_harness::atomic::write_atomic;
use vpbench_harness::record::{RunRecord, RunStatus};

use crate::comparison::{Column, ComparisonTable, Row};
use crate::paper::PaperTable;
use crate::radar::{RadarAxis, RadarChart, RadarSeries};

/// The measured quantity of each Table 3 column.
fn measured(r: &RunRecord, key: &str) -> Option<f64> {
    match key {
        "params_m" => Some(r.cost.params as f64 / 1e6),
        "flops_g" => Some(r.cost.macs_paper_config as f64 / 1e9),
        _ if r.status != RunStatus::Finished => None,
        "memory_gb" => r.memory.headline_bytes().map(|b| b as f64 / 1e9),
        "time_h" => Some(r.timing.total_s / 3600.0),
        "mse" => r.test.as_ref().map(|t| t.authors.mse),
        "mae" => r.test.as_ref().map(|t| t.authors.mae),
        "ssim" => r.test.as_ref().map(|t| t.authors.ssim),
        "psnr" => r.test.as_ref().map(|t| t.authors.psnr),
        _ => None,
    }
}

/// One line per fact that describes how the numbers were measured.
pub fn provenance(records: &[RunRecord], profile_description: &str) -> Vec<String> {
    let distinct = |f: &dyn Fn(&RunRecord) -> String| {
        records.iter().map(f).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(" | ")
    };
    vec![
        format!("Profile: {} ({profile_description})", distinct(&|r| r.profile.clone())),
        format!("Data: {}", distinct(&|r| r.data.label.clone())),
        format!("Backend: {}; device: {}", distinct(&|r| r.backend.clone()), distinct(&|r| r.device.clone())),
        format!("Host: {}", distinct(&|r| format!("{} ({} cores), {}", r.host.cpu, r.host.cpu_cores, r.host.gpu))),
        "Params (M) and FLOPs (G, multiply-accumulates, thop convention) are counted at the paper's configuration \
         (64x64x1, 32 hidden, 6 layers, 19 steps, batch 1) from the executed operations"
            .to_string(),
        format!("Memory (GB = 1e9 bytes): {}", distinct(&|r| r.memory.measured_as.clone())),
        "Time (h): wall clock of this profile's whole run (training, validation, test) on this machine; \
         the paper's is 40 epochs on 4 x A100"
            .to_string(),
        "MSE: per-frame pixel sum on [0,1], mean over all S-1 output frames and test clips (authors' convention)"
            .to_string(),
        format!("Commit: {}", distinct(&|r| r.host.git_commit.clone())),
    ]
}

pub fn columns() -> Vec<Column> {
    [
        ("params_m", "Params (M)", 3),
        ("memory_gb", "Memory (GB)", 3),
        ("flops_g", "FLOPs (G)", 1),
        ("time_h", "Time (h)", 4),
        ("mse", "MSE", 2),
    ]
    .into_iter()
    .map(|(key, header, decimals)| Column {
        key: key.into(),
        header: header.into(),
        decimals,
    })
    .collect()
}

pub fn table(records: &[RunRecord], paper: &PaperTable, title: &str, profile_description: &str) -> ComparisonTable {
    let columns = columns();
    let rows = records
        .iter()
        .map(|r| Row {
            model: r.paper_name.clone(),
            failure: match &r.status {
                RunStatus::Failed { reason } => Some(reason.clone()),
                RunStatus::Finished => None,
            },
            measured: columns.iter().map(|c| measured(r, &c.key)).collect(),
            paper: columns.iter().map(|c| paper.value(&r.paper_name, &c.key)).collect(),
        })
        .collect();
    ComparisonTable {
        title: title.to_string(),
        provenance: provenance(records, profile_description),
        columns,
        rows,
    }
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
    let finished: Vec<&RunRecord> = records.iter().filter(|r| r.status == RunStatus::Finished).collect();
    let max: Vec<f64> = axes
        .iter()
        .map(|(k, _)| finished.iter().filter_map(|r| measured(r, k)).fold(0.0, f64::max))
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

/// Writes table3.{md,csv,tex} and fig4_radar.{png,svg} into `dir`; returns the paths.
pub fn render(
    records: &[RunRecord],
    paper_csv: &Path,
    title: &str,
    profile_description: &str,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let paper = PaperTable::load(paper_csv)?;
    let t = table(records, &paper, title, profile_description);
    let mut written = Vec::new();
    for (name, body) in [
        ("table3.md", t.to_markdown()),
        ("table3.csv", t.to_csv()?),
        ("table3.tex", t.to_latex()),
    ] {
        let path = dir.join(name);
        write_atomic(&path, body.as_bytes())?;
        written.push(path);
    }
    let caption = t.provenance[..4].to_vec();
    let chart = radar(records, caption);
    written.extend(chart.render(dir, "fig4_radar")?);
    Ok(written)
}

//! The paper's figures, drawn from a sweep's records (and, for frame strips, its tested weights).

use std::path::{Path, PathBuf};

use anyhow::bail;
use vpbench_harness::experiment::{Experiment, Profile};
use vpbench_harness::inspect::predict_clip;
use vpbench_harness::metrics::QualityMetrics;
use vpbench_harness::record::RunRecord;
use vpbench_harness::sweep::SweepResult;
use vpbench_reports::curves::{CurveFigure, CurvePanel};
use vpbench_reports::figure::Figure;
use vpbench_reports::frames::{FrameRow, FrameStrip, Palette};
use vpbench_reports::paper_table::radar;

/// Renders one figure of an experiment (PNG and SVG) and returns the files written.
pub fn render_figure(
    figure: &str,
    sweep: &SweepResult,
    experiment: &Experiment,
    profile: &Profile,
    out_dir: &Path,
    caption: Vec<String>,
) -> anyhow::Result<Vec<PathBuf>> {
    let strip = |palette, difference| {
        frame_strip(
            sweep,
            out_dir,
            profile,
            caption.clone(),
            palette,
            difference,
            figure,
        )
    };
    match figure {
        "fig4_radar" => radar(&first_seeds(&sweep.records), caption.clone()).render(out_dir, figure),
        "fig6_frames" | "fig9_frames" => strip(Palette::Grey, false)?.render(out_dir, figure),
        "fig7_difference" => strip(Palette::Heat, true)?.render(out_dir, figure),
        "fig11_frames" => strip(Palette::Rain, false)?.render(out_dir, figure),
        "fig8_curves" => quality_curves(&first_seeds(&sweep.records), caption).render(out_dir, figure),
        "fig10_skill" => skill_curves(&first_seeds(&sweep.records), caption).render(out_dir, figure),
        other => bail!(
            "table {}: unknown figure '{other}' (known: fig4_radar, fig6_frames, fig7_difference, fig8_curves, fig9_frames, fig10_skill, fig11_frames)",
            experiment.table
        ),
    }
}

/// The first run of each model (the profile's seed): the figures draw one per model.
fn first_seeds(records: &[RunRecord]) -> Vec<RunRecord> {
    vpbench_reports::paper_table::by_model(records).into_iter().map(|g| g[0].clone()).collect()
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
                        // an undefined score (no event observed or forecast) is not drawn
                        .filter_map(|(frame, v)| Some((frame, v?)))
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

/// Frame strips (Figs. 6, 7, 9, 11): the inputs, the ground truth and each model's prediction
/// of test clip 0 (first channel), with `difference`: each followed by |GT - P|.
fn frame_strip(
    sweep: &SweepResult,
    out_dir: &Path,
    profile: &Profile,
    caption: Vec<String>,
    palette: Palette,
    difference: bool,
    figure: &str,
) -> anyhow::Result<FrameStrip> {
    let clips = &sweep.data.test;
    let plane = clips.plane_size();
    let clip: Vec<Vec<f32>> = clips
        .clip(0)
        .chunks(clips.frame_size())
        .map(|f| f[..plane].iter().map(|&p| p as f32 / 255.0).collect())
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
    for record in first_seeds(&sweep.records).iter().filter(|r| r.is_finished()) {
        let predicted = predict_clip(record, &SweepResult::run_dir(out_dir, record), clips, 0)?;
        let future_predicted: Vec<Vec<f32>> = predicted[predicted.len() - profile.out_len..]
            .iter()
            .map(|f| f[..plane].to_vec())
            .collect();
        if difference {
            rows.push(FrameRow {
                label: format!("|GT-P| {}", record.paper_name),
                frames: future
                    .iter()
                    .zip(&future_predicted)
                    .map(|(g, p)| {
                        g.iter()
                            .zip(p)
                            .map(|(a, b)| (a - b.clamp(0.0, 1.0)).abs())
                            .collect()
                    })
                    .collect(),
                first_column: profile.in_len,
            });
        } else {
            rows.push(FrameRow {
                label: record.paper_name.clone(),
                frames: future_predicted,
                first_column: profile.in_len,
            });
        }
    }
    let number = figure
        .trim_start_matches("fig")
        .split('_')
        .next()
        .unwrap_or("?");
    Ok(FrameStrip {
        palette,
        title: if difference {
            format!(
                "Fig. {number}: test clip 0, inputs, ground truth and |ground truth - prediction| of each model (same scale)"
            )
        } else {
            format!("Fig. {number}: test clip 0, inputs, ground truth and each model's prediction")
        },
        caption,
        height: clips.height,
        width: clips.width,
        columns: profile.in_len + profile.out_len,
        rows,
    })
}

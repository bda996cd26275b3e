//! The harness's metric code against the authors' own evaluation pipeline.
//!
//! A metric golden file (`../shared/golden/metrics/<dataset>.safetensors`, made by running the
//! authors' `train_and_test.py` + `util/evaluation.py` on prepared predictions) holds ground
//! truth, unclipped predictions, every per-frame metric, the int32 contingency counters and
//! the reported means. Here the same arrays go through [`MetricAccumulator`] (authors'
//! convention), [`SkillAccumulator`] and the training loss, one sample at a time as the
//! authors' test loader feeds them, and every value is compared.

use std::path::{Path, PathBuf};

use anyhow::bail;
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::Dtype;
use vpbench_models::golden::GoldenFile;
use serde::Serialize;

use crate::metrics::{Convention, MetricAccumulator, QualityMetrics};
use crate::skill::{RAIN_THRESHOLDS, SkillAccumulator, SkillScores, ZrRelation, reported_mean};

/// SSIM: the authors' runs through single-precision FFTs, about 1e-5 from exact (their README).
pub const SSIM_ABSOLUTE_TOLERANCE: f64 = 2e-5;
/// Every other value.
pub const RELATIVE_TOLERANCE: f64 = 1e-6;

/// One compared quantity: the largest error over its entries.
#[derive(Clone, Debug, Serialize)]
pub struct MetricCheck {
    pub name: String,
    pub entries: usize,
    /// Largest |got - want| / |want| (absolute for SSIM and for entries whose reference is 0;
    /// 0 for exactly equal counts).
    pub max_error: f64,
    pub tolerance: f64,
    /// Why the check failed where it is not a tolerance (a NaN in one and not the other).
    pub mismatch: Option<String>,
}

impl MetricCheck {
    pub fn passed(&self) -> bool {
        self.mismatch.is_none() && self.max_error <= self.tolerance
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricGoldenReport {
    pub file: PathBuf,
    pub dataset: String,
    pub checks: Vec<MetricCheck>,
}

impl MetricGoldenReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(MetricCheck::passed)
    }
}

/// A metric golden file: the models' reference-file reader, with the dtypes these files use.
struct MetricFile(GoldenFile);

impl MetricFile {
    fn open(path: &Path) -> anyhow::Result<Self> {
        Ok(Self(GoldenFile::open(path)?))
    }

    fn meta(&self, key: &str) -> anyhow::Result<&str> {
        Ok(self.0.meta(key)?)
    }

    fn meta_usize(&self, key: &str) -> anyhow::Result<usize> {
        Ok(self.0.meta_usize(key)?)
    }

    fn f32s(&self, key: &str, shape: &[usize]) -> anyhow::Result<Vec<f32>> {
        let raw = self.0.raw(key, Dtype::F32, shape)?;
        Ok(raw.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect())
    }

    fn f64s(&self, key: &str, shape: &[usize]) -> anyhow::Result<Vec<f64>> {
        let raw = self.0.raw(key, Dtype::F64, shape)?;
        Ok(raw.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect())
    }

    fn i32s(&self, key: &str, shape: &[usize]) -> anyhow::Result<Vec<i32>> {
        let raw = self.0.raw(key, Dtype::I32, shape)?;
        Ok(raw.chunks_exact(4).map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes"))).collect())
    }

    /// The rain-rate-to-pixel relation the file's thresholds were made with.
    fn relation(&self) -> anyhow::Result<ZrRelation> {
        let mapping = self.meta("threshold_mapping")?;
        if mapping.contains("rainfall_to_pixel") {
            Ok(ZrRelation::HKO)
        } else if mapping.contains("R_to_P") {
            Ok(ZrRelation::DWD)
        } else {
            bail!(
                "{}: metadata field 'threshold_mapping': expected the authors' rainfall_to_pixel (HKO) or R_to_P (DWD), found '{mapping}'",
                self.0.path.display()
            )
        }
    }
}

/// The file's sizes: T scored frames of B samples of C x H x W.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    frames: usize,
    samples: usize,
    channels: usize,
    height: usize,
    width: usize,
    out_len: usize,
}

impl Sizes {
    fn read(file: &MetricFile) -> anyhow::Result<Self> {
        Ok(Self {
            frames: file.meta_usize("scored_frames_T")?,
            samples: file.meta_usize("B")?,
            channels: file.meta_usize("C")?,
            height: file.meta_usize("H")?,
            width: file.meta_usize("W")?,
            out_len: file.meta_usize("out_len")?,
        })
    }

    fn frame(&self) -> usize {
        self.channels * self.height * self.width
    }

    fn frames_shape(&self) -> [usize; 5] {
        [self.frames, self.samples, self.channels, self.height, self.width]
    }

    /// `[T, B, ...]` (the file's time-major order) to `[B, T, ...]` (the harness's).
    fn batch_major(&self, values: &[f32]) -> Vec<f32> {
        let frame = self.frame();
        let mut out = Vec::with_capacity(values.len());
        for b in 0..self.samples {
            for t in 0..self.frames {
                out.extend_from_slice(&values[(t * self.samples + b) * frame..][..frame]);
            }
        }
        out
    }
}

/// What the harness computes from the file's arrays.
struct Computed {
    quality: QualityMetrics,
    skill: SkillScores,
    loss: f64,
}

fn compute(sizes: Sizes, relation: ZrRelation, truth: &[f32], prediction: &[f32]) -> Computed {
    let mut quality = MetricAccumulator::new(Convention::Authors, sizes.out_len, sizes.frames + 1);
    let mut skill = SkillAccumulator::new(relation);
    let per_sample = sizes.frames * sizes.frame();
    // one sample per call, as the authors' test loader (batch 1) feeds Evaluation.update
    for (p, g) in prediction.chunks_exact(per_sample).zip(truth.chunks_exact(per_sample)) {
        quality.add(p, g, 1, sizes.frame(), sizes.height, sizes.width);
        skill.add(p, g, 1, sizes.frame());
    }
    let device = Device::flex();
    let shape = [sizes.samples, sizes.frames, sizes.channels, sizes.height, sizes.width];
    let tensor = |v: &[f32]| Tensor::<5>::from_data(TensorData::new(v.to_vec(), shape), &device);
    let loss = vpbench_models::paper_loss(tensor(prediction), tensor(truth)).into_scalar::<f32>() as f64;
    Computed { quality: quality.finish(), skill: skill.finish(), loss }
}

/// Compares `got` with `want` entry by entry; `None` on either side is a NaN.
fn compare(name: &str, got: &[Option<f64>], want: &[f64], absolute: Option<f64>) -> MetricCheck {
    let tolerance = absolute.unwrap_or(RELATIVE_TOLERANCE);
    let mut check = MetricCheck { name: name.into(), entries: want.len(), max_error: 0.0, tolerance, mismatch: None };
    if got.len() != want.len() {
        check.mismatch = Some(format!("{} values computed, {} in the file", got.len(), want.len()));
        return check;
    }
    for (i, (g, &w)) in got.iter().zip(want).enumerate() {
        match (g, w.is_nan()) {
            (None, true) => {}
            (Some(g), false) => {
                let error = if absolute.is_some() || w == 0.0 { (g - w).abs() } else { (g - w).abs() / w.abs() };
                check.max_error = check.max_error.max(error);
            }
            (g, _) => {
                check.mismatch.get_or_insert_with(|| format!("entry {i}: computed {g:?}, file {w} (NaN where undefined)"));
            }
        }
    }
    check
}

fn defined(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().map(|&v| Some(v)).collect()
}

/// Counts must agree exactly.
fn compare_counts(name: &str, got: &[u64], want: &[i32]) -> MetricCheck {
    let differing = got.iter().zip(want).filter(|(g, w)| **g != **w as u64).count();
    MetricCheck {
        name: name.into(),
        entries: want.len(),
        max_error: got.iter().zip(want).map(|(g, w)| (*g as f64 - *w as f64).abs()).fold(0.0, f64::max),
        tolerance: 0.0,
        mismatch: (differing > 0 || got.len() != want.len())
            .then(|| format!("{differing} of {} counts differ", want.len())),
    }
}

/// `[threshold][frame]` -> `[frame][threshold]`, the file's layout.
fn frame_major<T: Copy>(per_threshold: &[Vec<T>]) -> Vec<T> {
    let frames = per_threshold.first().map_or(0, Vec::len);
    (0..frames).flat_map(|t| per_threshold.iter().map(move |row| row[t])).collect()
}

/// Checks one metric golden file.
pub fn verify_metric_golden(path: &Path) -> anyhow::Result<MetricGoldenReport> {
    let file = MetricFile::open(path)?;
    let sizes = Sizes::read(&file)?;
    let relation = file.relation()?;
    let truth = sizes.batch_major(&file.f32s("gt", &sizes.frames_shape())?);
    let prediction = sizes.batch_major(&file.f32s("pred", &sizes.frames_shape())?);
    let computed = compute(sizes, relation, &truth, &prediction);
    let (t, k) = (sizes.frames, RAIN_THRESHOLDS.len());
    let mut checks = Vec::new();

    let pixels: Vec<f64> = computed.skill.thresholds.iter().map(|s| s.pixel).collect();
    checks.push(compare("thresholds_pixel", &defined(&pixels), &file.f64s("aux.thresholds_pixel", &[k])?, None));
    quality_checks(&file, &computed, t, &mut checks)?;
    skill_checks(&file, &computed.skill, t, &mut checks)?;
    checks.push(compare("reported.loss", &[Some(computed.loss)], &file.f64s("reported.loss", &[1])?, None));
    Ok(MetricGoldenReport { file: path.to_path_buf(), dataset: file.meta("dataset")?.to_string(), checks })
}

/// SSIM, PSNR, GDL, MSE, MAE and the balanced errors: per frame and reported.
fn quality_checks(file: &MetricFile, computed: &Computed, t: usize, checks: &mut Vec<MetricCheck>) -> anyhow::Result<()> {
    let (q, s) = (&computed.quality, &computed.skill);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let per_frame: [(&str, &[f64]); 7] = [
        ("ssim", &q.per_frame.ssim),
        ("psnr", &q.per_frame.psnr),
        ("gdl", &q.per_frame.gdl),
        ("mse", &q.per_frame.mse),
        ("mae", &q.per_frame.mae),
        ("balanced_mse", &s.b_mse_per_frame),
        ("balanced_mae", &s.b_mae_per_frame),
    ];
    for (name, values) in per_frame {
        let absolute = (name == "ssim").then_some(SSIM_ABSOLUTE_TOLERANCE);
        let want = file.f64s(&format!("metric.{name}"), &[t])?;
        checks.push(compare(&format!("metric.{name}"), &defined(values), &want, absolute));
        let reported = file.f64s(&format!("reported.{name}"), &[1])?;
        checks.push(compare(&format!("reported.{name}"), &[Some(mean(values))], &reported, absolute));
    }
    Ok(())
}

/// Contingency counts exactly; POD, FAR, CSI, HSS per frame (NaN where undefined) and their
/// reported means per threshold.
fn skill_checks(file: &MetricFile, skill: &SkillScores, t: usize, checks: &mut Vec<MetricCheck>) -> anyhow::Result<()> {
    let k = skill.thresholds.len();
    let counts: Vec<Vec<_>> = skill.thresholds.iter().map(|s| s.per_frame.clone()).collect();
    let counters: [(&str, fn(&crate::skill::Contingency) -> u64); 4] = [
        ("hits", |c| c.hits),
        ("misses", |c| c.misses),
        ("false_alarms", |c| c.false_alarms),
        ("correct_negatives", |c| c.correct_negatives),
    ];
    for (name, count) in counters {
        let got: Vec<u64> = frame_major(&counts).iter().map(count).collect();
        let want = file.i32s(&format!("state.total_{name}"), &[t, k])?;
        checks.push(compare_counts(&format!("state.total_{name}"), &got, &want));
    }
    let scores: [(&str, fn(&crate::skill::ThresholdScores) -> &Vec<Option<f64>>); 4] =
        [("pod", |s| &s.pod), ("far", |s| &s.far), ("csi", |s| &s.csi), ("hss", |s| &s.hss)];
    for (name, score) in scores {
        let per_threshold: Vec<Vec<Option<f64>>> = skill.thresholds.iter().map(|s| score(s).clone()).collect();
        let want = file.f64s(&format!("metric.{name}"), &[t, k])?;
        checks.push(compare(&format!("metric.{name}"), &frame_major(&per_threshold), &want, None));
        let reported: Vec<Option<f64>> = per_threshold.iter().map(|v| Some(reported_mean(v))).collect();
        checks.push(compare(&format!("reported.{name}"), &reported, &file.f64s(&format!("reported.{name}"), &[k])?, None));
    }
    Ok(())
}

//! Precipitation skill scores (spec data-metrics-training 3.1): POD, FAR, CSI and HSS from
//! contingency counts pooled over the whole test set per lead time and threshold, and the
//! balanced B-MSE / B-MAE. Thresholds are rain rates converted to pixel values by the
//! dataset's Z-R relation.

use serde::{Deserialize, Serialize};
pub use vpbench_datasets::ZrRelation;

/// The rain thresholds of the authors' evaluation, mm/h.
pub const RAIN_THRESHOLDS: [f64; 5] = [0.5, 2.0, 5.0, 10.0, 30.0];
/// B-MSE / B-MAE weights by how many thresholds the ground truth reaches.
const BALANCING_WEIGHTS: [f64; 6] = [1.0, 1.0, 2.0, 5.0, 10.0, 30.0];

/// Hits, misses, false alarms and correct negatives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contingency {
    pub hits: u64,
    pub misses: u64,
    pub false_alarms: u64,
    pub correct_negatives: u64,
}

impl Contingency {
    /// The authors' arithmetic (`Evaluation.get_metrics`): counts cast to float32, ratios in
    /// float32; `None` where the denominator is 0 (their NaN: no event observed or forecast).
    fn ratio(n: f32, d: f32) -> Option<f64> {
        (d != 0.0).then(|| (n / d) as f64)
    }

    fn counts(&self) -> [f32; 4] {
        [self.hits, self.misses, self.false_alarms, self.correct_negatives].map(|c| c as f32)
    }

    pub fn pod(&self) -> Option<f64> {
        let [h, m, _, _] = self.counts();
        Self::ratio(h, h + m)
    }
    pub fn far(&self) -> Option<f64> {
        let [h, _, f, _] = self.counts();
        Self::ratio(f, h + f)
    }
    pub fn csi(&self) -> Option<f64> {
        let [h, m, f, _] = self.counts();
        Self::ratio(h, h + m + f)
    }
    pub fn hss(&self) -> Option<f64> {
        let [h, m, f, c] = self.counts();
        Self::ratio(2.0 * (h * c - m * f), (h + m) * (m + c) + (h + f) * (f + c))
    }
}

/// The mean of per-frame scores as the authors report it: an undefined score (their NaN)
/// counts as 0 (`np.nan_to_num` before the mean), so a frame without events lowers it.
pub fn reported_mean(scores: &[Option<f64>]) -> f64 {
    scores.iter().map(|s| s.unwrap_or(0.0)).sum::<f64>() / scores.len().max(1) as f64
}

/// Scores of one threshold: per frame and their mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdScores {
    pub rain_mm_h: f64,
    pub pixel: f64,
    pub per_frame: Vec<Contingency>,
    /// Per frame; `None` (JSON `null`) where the score is undefined (0/0).
    pub pod: Vec<Option<f64>>,
    pub far: Vec<Option<f64>>,
    pub csi: Vec<Option<f64>>,
    pub hss: Vec<Option<f64>>,
    /// [`reported_mean`] of the per-frame scores.
    pub mean_pod: f64,
    pub mean_far: f64,
    pub mean_csi: f64,
    pub mean_hss: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkillScores {
    pub relation: ZrRelation,
    pub thresholds: Vec<ThresholdScores>,
    /// Balanced MSE and MAE per frame (pixel sums, mean over samples) and their means.
    pub b_mse_per_frame: Vec<f64>,
    pub b_mae_per_frame: Vec<f64>,
    pub b_mse: f64,
    pub b_mae: f64,
}

/// Pools contingency counts and balanced errors over test batches.
pub struct SkillAccumulator {
    relation: ZrRelation,
    pixels: Vec<f64>,
    counts: Vec<Vec<Contingency>>,
    b_mse: Vec<f64>,
    b_mae: Vec<f64>,
    samples: usize,
}

impl SkillAccumulator {
    pub fn new(relation: ZrRelation) -> Self {
        Self {
            relation,
            pixels: RAIN_THRESHOLDS.iter().map(|&r| relation.pixel(r)).collect(),
            counts: Vec::new(),
            b_mse: Vec::new(),
            b_mae: Vec::new(),
            samples: 0,
        }
    }

    /// `prediction` and `truth` are `[B, frames, pixels]` flattened (the frame count is taken
    /// from the first batch); predictions are clipped to [0, 1] first, as the authors do.
    pub fn add(&mut self, prediction: &[f32], truth: &[f32], batch: usize, frame_pixels: usize) {
        if self.b_mse.is_empty() {
            let frames = prediction.len() / (batch * frame_pixels);
            self.counts = vec![vec![Contingency::default(); frames]; RAIN_THRESHOLDS.len()];
            self.b_mse = vec![0.0; frames];
            self.b_mae = vec![0.0; frames];
        }
        let frames = self.b_mse.len();
        for b in 0..batch {
            for t in 0..frames {
                let at = (b * frames + t) * frame_pixels;
                let (mut sq, mut abs) = (0.0, 0.0);
                for (&p, &g) in prediction[at..at + frame_pixels]
                    .iter()
                    .zip(&truth[at..at + frame_pixels])
                {
                    let (p, g) = (p.clamp(0.0, 1.0) as f64, g as f64);
                    let level = self.pixels.iter().filter(|&&th| g >= th).count();
                    let w = BALANCING_WEIGHTS[level];
                    sq += w * (p - g).powi(2);
                    abs += w * (p - g).abs();
                    for (k, &th) in self.pixels.iter().enumerate() {
                        let c = &mut self.counts[k][t];
                        match (p >= th, g >= th) {
                            (true, true) => c.hits += 1,
                            (false, true) => c.misses += 1,
                            (true, false) => c.false_alarms += 1,
                            (false, false) => c.correct_negatives += 1,
                        }
                    }
                }
                self.b_mse[t] += sq;
                self.b_mae[t] += abs;
            }
        }
        self.samples += batch;
    }

    pub fn finish(&self) -> SkillScores {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let thresholds = RAIN_THRESHOLDS
            .iter()
            .zip(&self.pixels)
            .zip(&self.counts)
            .map(|((&rain, &pixel), counts)| {
                let score = |f: fn(&Contingency) -> Option<f64>| counts.iter().map(f).collect::<Vec<_>>();
                let (pod, far, csi, hss) = (
                    score(Contingency::pod),
                    score(Contingency::far),
                    score(Contingency::csi),
                    score(Contingency::hss),
                );
                ThresholdScores {
                    rain_mm_h: rain,
                    pixel,
                    per_frame: counts.clone(),
                    mean_pod: reported_mean(&pod),
                    mean_far: reported_mean(&far),
                    mean_csi: reported_mean(&csi),
                    mean_hss: reported_mean(&hss),
                    pod,
                    far,
                    csi,
                    hss,
                }
            })
            .collect();
        let n = self.samples.max(1) as f64;
        let b_mse_per_frame: Vec<f64> = self.b_mse.iter().map(|s| s / n).collect();
        let b_mae_per_frame: Vec<f64> = self.b_mae.iter().map(|s| s / n).collect();
        SkillScores {
            relation: self.relation,
            thresholds,
            b_mse: mean(&b_mse_per_frame),
            b_mae: mean(&b_mae_per_frame),
            b_mse_per_frame,
            b_mae_per_frame,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dwd_thresholds_are_the_authors_pixels() {
        let got: Vec<f64> = RAIN_THRESHOLDS
            .iter()
            .map(|&r| ZrRelation::DWD.pixel(r))
            .collect();
        let want = [0.42583, 0.54796, 0.62868, 0.68975, 0.78654];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 5e-6, "{got:?}");
        }
        let hko: Vec<f64> = RAIN_THRESHOLDS
            .iter()
            .map(|&r| ZrRelation::HKO.pixel(r))
            .collect();
        for (g, w) in hko
            .iter()
            .zip([0.32825, 0.46243, 0.55111, 0.61820, 0.72453])
        {
            assert!((g - w).abs() < 5e-6, "{hko:?}");
        }
        assert!((ZrRelation::DWD.rain_rate(ZrRelation::DWD.pixel(7.3)) - 7.3).abs() < 1e-9);
    }

    #[test]
    fn scores_of_a_hand_made_contingency_table() {
        // H = 3, M = 1, F = 2, CN = 4
        let c = Contingency {
            hits: 3,
            misses: 1,
            false_alarms: 2,
            correct_negatives: 4,
        };
        assert!((c.pod().unwrap() - 0.75).abs() < 1e-7);
        assert!((c.far().unwrap() - 0.4).abs() < 1e-7);
        assert!((c.csi().unwrap() - 0.5).abs() < 1e-7);
        // 2 (3*4 - 1*2) / ((3+1)(1+4) + (3+2)(2+4)) = 20 / 50
        assert!((c.hss().unwrap() - 0.4).abs() < 1e-7);
        // an empty denominator is undefined (the authors' NaN) and counts 0 in the mean
        assert_eq!(Contingency::default().csi(), None);
        let none_observed = Contingency { false_alarms: 2, correct_negatives: 5, ..Default::default() };
        assert_eq!(none_observed.pod(), None);
        assert_eq!((none_observed.far(), none_observed.csi(), none_observed.hss()), (Some(1.0), Some(0.0), Some(0.0)));
        assert_eq!(reported_mean(&[Some(0.5), None, Some(0.25)]), 0.25);
    }

    #[test]
    fn counts_are_pooled_over_samples_per_frame_and_threshold() {
        let th = ZrRelation::DWD.pixel(0.5) as f32; // 0.4258
        let (hi, lo) = (th + 0.01, th - 0.01);
        // 2 samples x 1 frame x 4 pixels
        let pred = [hi, hi, lo, lo, hi, lo, lo, 1.5];
        let truth = [hi, lo, hi, lo, hi, hi, lo, lo];
        let mut acc = SkillAccumulator::new(ZrRelation::DWD);
        acc.add(&pred, &truth, 2, 4);
        let s = acc.finish();
        let c = s.thresholds[0].per_frame[0];
        // sample 0: H, F, M, CN; sample 1: H, M, CN, F (1.5 clipped to 1.0 >= th)
        assert_eq!(
            c,
            Contingency {
                hits: 2,
                misses: 2,
                false_alarms: 2,
                correct_negatives: 2
            }
        );
        assert!((s.thresholds[0].mean_csi - 2.0 / 6.0).abs() < 1e-7); // float32 arithmetic, as the authors'
        // at 30 mm/h only the clipped prediction is an event, and the truth is not
        let c30 = s.thresholds[4].per_frame[0];
        assert_eq!(
            (c30.hits, c30.false_alarms, c30.correct_negatives),
            (0, 1, 7)
        );
    }

    #[test]
    fn balanced_errors_weigh_by_the_truth_intensity() {
        // one pixel whose truth reaches 2 mm/h (weight 2 for level 2), error 0.1
        let g = ZrRelation::DWD.pixel(3.0) as f32;
        let mut acc = SkillAccumulator::new(ZrRelation::DWD);
        acc.add(&[g - 0.1], &[g], 1, 1);
        let s = acc.finish();
        assert!(
            (s.b_mse - 2.0 * 0.01).abs() < 1e-6 && (s.b_mae - 2.0 * 0.1).abs() < 1e-6,
            "{} {}",
            s.b_mse,
            s.b_mae
        );
    }
}

//! Frame quality metrics under the two conventions of the field, kept apart and labelled.
//!
//! - `authors`: the MS-RNN code (spec data-metrics-training 3.1): all S-1 output frames,
//!   predictions clipped to [0, 1], MSE/MAE summed over the pixels of a frame, PSNR with a
//!   1e-5 epsilon, SSIM with an 11x11 Gaussian (sigma 1.5), 'valid' region, data range 1,
//!   and the gradient difference loss (GDL). Checked number for number against the
//!   authors' own pipeline by `vpbench verify-metrics` (`crate::metric_golden`).
//!
//! Frames with several channels (TaxiBJ's in- and outflow): SSIM is the mean over channels
//! (what scikit-image's `channel_axis` and the TensorFlow SSIM the authors borrowed compute
//! for a channels-last image); MSE, MAE and GDL sum over channels as over pixels. The
//! authors' code itself handles one channel only (`util/numba_accelerated.py` reads
//! channel 0, and `get_SSIM` reshapes rather than transposes).
//! - `common`: OpenSTL (3.2): the out_len future frames only, MSE/MAE of unclipped
//!   predictions, PSNR of clipped ones without epsilon, SSIM as scikit-image 0.19 computes
//!   it for floats (7x7 uniform window, sample covariance, border of 3 cropped, data range 2).

use serde::{Deserialize, Serialize};

/// Which convention a set of numbers follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    Authors,
    Common,
}

impl Convention {
    pub fn describe(self) -> &'static str {
        match self {
            Convention::Authors => {
                "authors (MS-RNN code): all S-1 frames, clipped, per-frame pixel-sum MSE/MAE, \
                 Gaussian-11 SSIM (data range 1, valid), PSNR with 1e-5 epsilon"
            }
            Convention::Common => {
                "common (OpenSTL): future frames only, unclipped pixel-sum MSE/MAE, \
                 uniform-7 SSIM (data range 2, sample covariance), PSNR without epsilon (capped at 100 dB)"
            }
        }
    }
}

/// Mean metrics and the per-frame curves behind them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityMetrics {
    pub convention: Convention,
    pub description: String,
    /// 1-based index of the ground-truth frame each per-frame entry scores.
    pub frames: Vec<usize>,
    pub samples: usize,
    pub mse: f64,
    pub mae: f64,
    pub ssim: f64,
    pub psnr: f64,
    /// Gradient difference loss (authors' convention only; OpenSTL reports none).
    #[serde(default)]
    pub gdl: Option<f64>,
    pub per_frame: PerFrame,
    /// Bootstrap 95% intervals of MSE, MAE, SSIM and PSNR over the test clips (absent with
    /// fewer than 2 clips, and in records made before they were computed).
    #[serde(default)]
    pub interval95: Option<Intervals>,
    /// The same over the future frames only (what a table scoring future frames shows).
    #[serde(default)]
    pub interval95_future: Option<Intervals>,
}

/// Percentile bootstrap 95% intervals of the mean over clips: the clips are resampled with
/// replacement [`BOOTSTRAP_RESAMPLES`] times (seeded), and the 2.5th and 97.5th percentiles
/// of the resampled means are the bounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    pub resamples: usize,
    pub mse: [f64; 2],
    pub mae: [f64; 2],
    pub ssim: [f64; 2],
    pub psnr: [f64; 2],
}

pub const BOOTSTRAP_RESAMPLES: usize = 1000;
const BOOTSTRAP_SEED: u64 = 0x5eed_b007;

impl Intervals {
    /// From each clip's `[mse, mae, ssim, psnr]` averaged over its scored frames.
    fn of_clips(per_clip: &[[f64; 4]]) -> Option<Self> {
        use rand::{Rng, SeedableRng};
        let n = per_clip.len();
        if n < 2 {
            return None;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
        let mut means: [Vec<f64>; 4] = Default::default();
        for _ in 0..BOOTSTRAP_RESAMPLES {
            let mut sum = [0.0; 4];
            for _ in 0..n {
                let clip = &per_clip[rng.random_range(0..n)];
                (0..4).for_each(|m| sum[m] += clip[m]);
            }
            (0..4).for_each(|m| means[m].push(sum[m] / n as f64));
        }
        let [mse, mae, ssim, psnr] = means.map(|mut v| {
            v.sort_by(f64::total_cmp);
            [percentile(&v, 0.025), percentile(&v, 0.975)]
        });
        Some(Self { resamples: BOOTSTRAP_RESAMPLES, mse, mae, ssim, psnr })
    }
}

/// The `q` quantile of sorted values, linearly interpolated.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerFrame {
    pub mse: Vec<f64>,
    pub mae: Vec<f64>,
    pub ssim: Vec<f64>,
    pub psnr: Vec<f64>,
    /// Empty under the common convention.
    #[serde(default)]
    pub gdl: Vec<f64>,
}

/// Accumulates per-frame sums over test batches.
pub struct MetricAccumulator {
    convention: Convention,
    out_len: usize,
    seq_len: usize,
    /// Indices into the predicted frames that this convention scores (set by the first batch).
    scored: Vec<usize>,
    /// How many frames the model predicts (the last `predicted` of the sequence).
    predicted: usize,
    sums: PerFrame,
    samples: usize,
    /// Each clip's `[mse, mae, ssim, psnr]` summed over its scored frames, and over its
    /// future frames only (for the bootstrap intervals).
    per_clip: Vec<[f64; 4]>,
    per_clip_future: Vec<[f64; 4]>,
}

impl MetricAccumulator {
    pub fn new(convention: Convention, out_len: usize, seq_len: usize) -> Self {
        Self {
            convention,
            out_len,
            seq_len,
            scored: Vec::new(),
            predicted: 0,
            sums: PerFrame::default(),
            samples: 0,
            per_clip: Vec::new(),
            per_clip_future: Vec::new(),
        }
    }

    /// Adds a batch: `prediction` and `truth` are `[B, P, C, H, W]` flattened, predictions of
    /// the last P frames of the clip and those frames (P = S-1 for recurrent models).
    pub fn add(
        &mut self,
        prediction: &[f32],
        truth: &[f32],
        batch: usize,
        frame_pixels: usize,
        height: usize,
        width: usize,
    ) {
        let steps = prediction.len() / (batch * frame_pixels);
        if self.scored.is_empty() {
            self.predicted = steps;
            self.scored = match self.convention {
                Convention::Authors => (0..steps).collect(),
                Convention::Common => (steps.saturating_sub(self.out_len)..steps).collect(),
            };
            let zeros = vec![0.0; self.scored.len()];
            self.sums = PerFrame {
                mse: zeros.clone(),
                mae: zeros.clone(),
                ssim: zeros.clone(),
                psnr: zeros.clone(),
                gdl: if self.convention == Convention::Authors { zeros } else { Vec::new() },
            };
        }
        let image = FrameShape { channels: frame_pixels / (height * width), height, width };
        // ground-truth frames after the first seq_len - out_len are the future
        let first_future = steps.saturating_sub(self.out_len);
        for b in 0..batch {
            let (mut clip, mut future) = ([0.0; 4], [0.0; 4]);
            for k in 0..self.scored.len() {
                let at = (b * steps + self.scored[k]) * frame_pixels;
                let scores = self.add_frame(k, &prediction[at..at + frame_pixels], &truth[at..at + frame_pixels], image);
                (0..4).for_each(|m| clip[m] += scores[m]);
                if self.scored[k] >= first_future {
                    (0..4).for_each(|m| future[m] += scores[m]);
                }
            }
            self.per_clip.push(clip);
            self.per_clip_future.push(future);
        }
        self.samples += batch;
    }

    /// Adds one sample's frame `p` (prediction) against `g` (truth) to scored frame `k`;
    /// returns its `[mse, mae, ssim, psnr]`.
    fn add_frame(&mut self, k: usize, p: &[f32], g: &[f32], image: FrameShape) -> [f64; 4] {
        let clipped: Vec<f32> = p.iter().map(|v| v.clamp(0.0, 1.0)).collect();
        let (error_source, psnr_eps, ssim) = match self.convention {
            Convention::Authors => (&clipped[..], 1e-5, image.mean_over_channels(&clipped, g, ssim_gaussian)),
            Convention::Common => (p, 0.0, image.mean_over_channels(&clipped, g, ssim_uniform)),
        };
        let differences = |a: &[f32]| a.iter().zip(g).map(|(&x, &y)| x as f64 - y as f64).collect::<Vec<_>>();
        let (d, clipped_d) = (differences(error_source), differences(&clipped));
        let mse = d.iter().map(|v| v * v).sum::<f64>();
        let mae = d.iter().map(|v| v.abs()).sum::<f64>();
        let clipped_sq: f64 = clipped_d.iter().map(|v| v * v).sum();
        let psnr = psnr(clipped_sq / p.len() as f64, psnr_eps);
        self.sums.mse[k] += mse;
        self.sums.mae[k] += mae;
        self.sums.ssim[k] += ssim;
        self.sums.psnr[k] += psnr;
        if self.convention == Convention::Authors {
            self.sums.gdl[k] += image.channel_sum(&clipped, g, gdl) as f64;
        }
        [mse, mae, ssim, psnr]
    }

    pub fn finish(&self) -> QualityMetrics {
        let n = self.samples.max(1) as f64;
        let per = |v: &Vec<f64>| v.iter().map(|s| s / n).collect::<Vec<_>>();
        let per_frame = PerFrame {
            mse: per(&self.sums.mse),
            mae: per(&self.sums.mae),
            ssim: per(&self.sums.ssim),
            psnr: per(&self.sums.psnr),
            gdl: per(&self.sums.gdl),
        };
        let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
        QualityMetrics {
            convention: self.convention,
            description: self.convention.describe().to_string(),
            frames: self
                .scored
                .iter()
                .map(|k| self.seq_len - self.predicted + k + 1)
                .collect(),
            samples: self.samples,
            mse: mean(&per_frame.mse),
            mae: mean(&per_frame.mae),
            ssim: mean(&per_frame.ssim),
            psnr: mean(&per_frame.psnr),
            gdl: (self.convention == Convention::Authors).then(|| mean(&per_frame.gdl)),
            per_frame,
            interval95: Intervals::of_clips(&self.clip_means(&self.per_clip, self.scored.len())),
            interval95_future: Intervals::of_clips(&self.clip_means(&self.per_clip_future, self.future_frames())),
        }
    }

    /// How many of the scored frames are future frames.
    fn future_frames(&self) -> usize {
        let first_future = self.predicted.saturating_sub(self.out_len);
        self.scored.iter().filter(|&&k| k >= first_future).count()
    }

    /// Per-clip sums over `frames` frames as means.
    fn clip_means(&self, sums: &[[f64; 4]], frames: usize) -> Vec<[f64; 4]> {
        let frames = frames.max(1) as f64;
        sums.iter().map(|s| s.map(|v| v / frames)).collect()
    }
}

/// One frame's layout: `channels` planes of `height x width`.
#[derive(Clone, Copy, Debug)]
struct FrameShape {
    channels: usize,
    height: usize,
    width: usize,
}

impl FrameShape {
    fn planes<'a>(&self, values: &'a [f32]) -> std::slice::ChunksExact<'a, f32> {
        values.chunks_exact(self.height * self.width)
    }

    /// The mean over channels of a per-plane score.
    fn mean_over_channels(&self, p: &[f32], g: &[f32], score: fn(&[f32], &[f32], usize, usize) -> f64) -> f64 {
        let total: f64 = self.planes(p).zip(self.planes(g)).map(|(a, b)| score(a, b, self.height, self.width)).sum();
        total / self.channels as f64
    }

    /// The sum over channels of a per-plane float32 score.
    fn channel_sum(&self, p: &[f32], g: &[f32], score: fn(&[f32], &[f32], usize, usize) -> f32) -> f32 {
        self.planes(p).zip(self.planes(g)).map(|(a, b)| score(a, b, self.height, self.width)).sum()
    }
}

/// The gradient difference loss of one `height x width` plane, as the authors'
/// `get_GDL_numba`: `sum ||dp| - |dg||` over vertical then horizontal neighbours, rows
/// outer, columns inner, accumulated in float32 in that order (so bit for bit theirs).
pub fn gdl(p: &[f32], g: &[f32], height: usize, width: usize) -> f32 {
    let mut total = 0.0f32;
    for m in 0..height {
        for n in 0..width {
            let at = m * width + n;
            if m + 1 < height {
                total += ((p[at + width] - p[at]).abs() - (g[at + width] - g[at]).abs()).abs();
            }
            if n + 1 < width {
                total += ((p[at + 1] - p[at]).abs() - (g[at + 1] - g[at]).abs()).abs();
            }
        }
    }
    total
}

/// `10 log10(1 / (mean_sq + eps))`, peak 1; a perfect frame without epsilon gives 100 dB.
pub fn psnr(mean_squared: f64, eps: f64) -> f64 {
    let denom = mean_squared + eps;
    if denom <= 0.0 {
        100.0
    } else {
        (10.0 * (1.0 / denom).log10()).min(100.0)
    }
}

/// The authors' SSIM: Gaussian window n = min(11, H, W), sigma = 1.5 n / 11, 'valid'
/// filtering, biased variances, data range 1.
pub fn ssim_gaussian(a: &[f32], b: &[f32], height: usize, width: usize) -> f64 {
    let n = 11.min(height).min(width);
    let sigma = 1.5 * n as f64 / 11.0;
    let half = (n as f64 - 1.0) / 2.0;
    let mut w: Vec<f64> = (0..n)
        .map(|i| (-((i as f64 - half).powi(2)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = w.iter().sum();
    w.iter_mut().for_each(|v| *v /= total);
    ssim_valid(a, b, height, width, &w, 1.0, 1.0)
}

/// scikit-image 0.19's SSIM of float images without data_range: 7x7 uniform window,
/// sample covariance (49/48), border of 3 cropped (so only in-image windows), range 2.
pub fn ssim_uniform(a: &[f32], b: &[f32], height: usize, width: usize) -> f64 {
    let n = 7.min(height).min(width);
    let w = vec![1.0 / n as f64; n];
    let np = (n * n) as f64;
    ssim_valid(a, b, height, width, &w, np / (np - 1.0), 2.0)
}

/// Mean SSIM over the 'valid' positions of a separable window `w`.
fn ssim_valid(
    a: &[f32],
    b: &[f32],
    height: usize,
    width: usize,
    w: &[f64],
    cov_norm: f64,
    range: f64,
) -> f64 {
    let (c1, c2) = ((0.01 * range).powi(2), (0.03 * range).powi(2));
    let x: Vec<f64> = a.iter().map(|&v| v as f64).collect();
    let y: Vec<f64> = b.iter().map(|&v| v as f64).collect();
    let xx: Vec<f64> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f64> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p * q).collect();
    let f = |img: &[f64]| filter_valid(img, height, width, w);
    let (mx, my, mxx, myy, mxy) = (f(&x), f(&y), f(&xx), f(&yy), f(&xy));
    let count = mx.len();
    let mut total = 0.0;
    for i in 0..count {
        let (ux, uy) = (mx[i], my[i]);
        let vx = cov_norm * (mxx[i] - ux * ux);
        let vy = cov_norm * (myy[i] - uy * uy);
        let vxy = cov_norm * (mxy[i] - ux * uy);
        total +=
            ((2.0 * ux * uy + c1) * (2.0 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
    total / count.max(1) as f64
}

/// Separable 'valid' correlation: output `(H-n+1) x (W-n+1)`.
fn filter_valid(img: &[f64], height: usize, width: usize, w: &[f64]) -> Vec<f64> {
    let n = w.len();
    let (oh, ow) = (height + 1 - n, width + 1 - n);
    let mut rows = vec![0.0; height * ow];
    for r in 0..height {
        for c in 0..ow {
            rows[r * ow + c] = (0..n).map(|k| w[k] * img[r * width + c + k]).sum();
        }
    }
    let mut out = vec![0.0; oh * ow];
    for r in 0..oh {
        for c in 0..ow {
            out[r * ow + c] = (0..n).map(|k| w[k] * rows[(r + k) * ow + c]).sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_intervals_bracket_the_mean_are_seeded_and_cover_the_future_frames() {
        // 8 clips of 3 predicted 2x2 frames, the error growing with the clip index
        let (batch, steps, pixels) = (8, 3, 4);
        let truth = vec![0.5f32; batch * steps * pixels];
        let prediction: Vec<f32> = (0..batch * steps * pixels).map(|i| 0.5 + 0.05 * (i / (steps * pixels)) as f32).collect();
        let run = || {
            let mut acc = MetricAccumulator::new(Convention::Authors, 2, 4);
            acc.add(&prediction, &truth, batch, pixels, 2, 2);
            acc.finish()
        };
        let q = run();
        let ci = q.interval95.as_ref().unwrap();
        assert_eq!(ci.resamples, BOOTSTRAP_RESAMPLES);
        assert!(ci.mse[0] < q.mse && q.mse < ci.mse[1], "{:?} around {}", ci.mse, q.mse);
        assert!(ci.ssim[0] <= q.ssim && q.ssim <= ci.ssim[1]);
        assert_eq!(run().interval95, q.interval95, "seeded");
        // every frame of a clip has the same error here, so the future-frame interval is the same
        let future = q.interval95_future.as_ref().unwrap();
        assert!((future.mse[0] - ci.mse[0]).abs() < 1e-12 && (future.mse[1] - ci.mse[1]).abs() < 1e-12);
        // identical clips: no spread
        let mut acc = MetricAccumulator::new(Convention::Common, 2, 4);
        acc.add(&vec![0.6; batch * steps * pixels], &truth, batch, pixels, 2, 2);
        let flat = acc.finish();
        let ci = flat.interval95.unwrap();
        assert!((ci.mse[0] - flat.mse).abs() < 1e-12 && (ci.mse[1] - flat.mse).abs() < 1e-12);
    }

    #[test]
    fn identical_frames_score_perfectly() {
        let img: Vec<f32> = (0..256).map(|i| ((i * 37) % 255) as f32 / 255.0).collect();
        assert!((ssim_gaussian(&img, &img, 16, 16) - 1.0).abs() < 1e-12);
        assert!((ssim_uniform(&img, &img, 16, 16) - 1.0).abs() < 1e-12);
        assert_eq!(psnr(0.0, 1e-5), 50.0);
    }

    #[test]
    fn ssim_of_constant_frames_by_hand() {
        // x = 0.2 and y = 0.6 everywhere: variances 0, so SSIM = (2 ux uy + C1) / (ux^2 + uy^2 + C1).
        let x = vec![0.2f32; 144];
        let y = vec![0.6f32; 144];
        let (ux, uy) = (0.2f32 as f64, 0.6f32 as f64);
        let c1 = 1e-4;
        let want = (2.0 * ux * uy + c1) / (ux * ux + uy * uy + c1);
        assert!((ssim_gaussian(&x, &y, 12, 12) - want).abs() < 1e-9);
        let c1 = 4e-4;
        let want = (2.0 * ux * uy + c1) / (ux * ux + uy * uy + c1);
        assert!((ssim_uniform(&x, &y, 12, 12) - want).abs() < 1e-9);
    }

    #[test]
    fn psnr_by_hand() {
        // mean squared error 0.01 -> 20 dB; with the authors' epsilon slightly less.
        assert!((psnr(0.01, 0.0) - 20.0).abs() < 1e-12);
        assert!((psnr(0.01, 1e-5) - 10.0 * (1.0 / 0.01001f64).log10()).abs() < 1e-12);
    }

    #[test]
    fn conventions_score_different_frames_and_clip_differently() {
        // B=1, S-1=3 (in 2, out 2), 1x2 frames; prediction 1.5 where truth is 1.0 in every frame.
        let pred = vec![1.5f32, 0.0, 1.5, 0.0, 1.5, 0.0];
        let truth = vec![1.0f32, 0.0, 1.0, 0.0, 1.0, 0.0];
        let mut a = MetricAccumulator::new(Convention::Authors, 2, 4);
        let mut c = MetricAccumulator::new(Convention::Common, 2, 4);
        a.add(&pred, &truth, 1, 2, 1, 2);
        c.add(&pred, &truth, 1, 2, 1, 2);
        let (a, c) = (a.finish(), c.finish());
        assert_eq!(a.frames, vec![2, 3, 4]);
        assert_eq!(c.frames, vec![3, 4]);
        assert_eq!(a.mse, 0.0); // clipped to 1.0
        assert!((c.mse - 0.25).abs() < 1e-12 && (c.mae - 0.5).abs() < 1e-12);
        assert_eq!(a.psnr, 50.0);
    }

    #[test]
    fn mse_and_mae_are_pixel_sums_averaged_over_samples() {
        // two samples, one frame scored each (in 1, out 1), 2x2 pixels
        let pred = vec![0.5f32, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0];
        let truth = vec![0.0f32; 8];
        let mut acc = MetricAccumulator::new(Convention::Authors, 1, 2);
        acc.add(&pred, &truth, 2, 4, 2, 2);
        let m = acc.finish();
        assert!((m.mse - (4.0 * 0.25) / 2.0).abs() < 1e-12);
        assert!((m.mae - (4.0 * 0.5) / 2.0).abs() < 1e-12);
    }
}

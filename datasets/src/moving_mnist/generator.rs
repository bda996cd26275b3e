//! The authors' Moving MNIST generator (`util/make_moving_mnist.py`, spec section 1.1),
//! seeded so that a run can be reproduced.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{DigitPool, GenerateOptions};
use crate::{Provenance, Sequences};

/// The motion model's knobs; defaults are the authors'.
#[derive(Clone, Debug)]
pub struct MotionOptions {
    pub canvas: usize,
    pub digits_per_clip: usize,
    /// Speeds are drawn uniformly from `min_speed..=max_speed` pixels per frame.
    pub min_speed: u32,
    pub max_speed: u32,
    /// A digit bounces once it would leave `[-overshoot, canvas - digit + overshoot]`.
    pub overshoot: f64,
    /// The authors' frames are the natural image shifted right by one pixel (column 0
    /// always black). On by default; off gives the clean variant.
    pub one_pixel_shift: bool,
}

impl Default for MotionOptions {
    fn default() -> Self {
        Self {
            canvas: 64,
            digits_per_clip: 2,
            min_speed: 2,
            max_speed: 6,
            overshoot: 2.0,
            one_pixel_shift: true,
        }
    }
}

struct Trajectory {
    digit: usize,
    x: f64,
    y: f64,
    vx: f64,
    vy: f64,
}

/// Generates `options.clips` clips of `options.seq_len` frames from `digits`.
pub fn generate(digits: &DigitPool, options: &GenerateOptions) -> Sequences {
    let m = &options.motion;
    let (canvas, size) = (m.canvas, digits.size);
    let limit = canvas.saturating_sub(size) as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let frame = canvas * canvas;
    let mut pixels = vec![0u8; options.clips * options.seq_len * frame];

    for clip in 0..options.clips {
        let mut trajectories: Vec<Trajectory> = (0..m.digits_per_clip)
            .map(|_| {
                let theta = rng.random_range(-std::f64::consts::PI..std::f64::consts::PI);
                let speed = rng.random_range(m.min_speed..=m.max_speed) as f64;
                Trajectory {
                    digit: rng.random_range(0..digits.images.len()),
                    x: rng.random::<f64>() * limit,
                    y: rng.random::<f64>() * limit,
                    vx: speed * theta.cos(),
                    vy: speed * theta.sin(),
                }
            })
            .collect();
        for t in 0..options.seq_len {
            let start = (clip * options.seq_len + t) * frame;
            let out = &mut pixels[start..start + frame];
            for tr in &trajectories {
                // Python's int() truncates toward zero.
                let (left, top) = (tr.x.trunc() as i64, tr.y.trunc() as i64);
                paste_saturating(out, canvas, &digits.images[tr.digit], size, left, top);
            }
            if m.one_pixel_shift {
                shift_right_one(out, canvas);
            }
            for tr in &mut trajectories {
                let (lo, hi) = (-m.overshoot, limit + m.overshoot);
                if !(lo..=hi).contains(&(tr.x + tr.vx)) {
                    tr.vx = -tr.vx;
                }
                if !(lo..=hi).contains(&(tr.y + tr.vy)) {
                    tr.vy = -tr.vy;
                }
                tr.x += tr.vx;
                tr.y += tr.vy;
            }
        }
    }
    let shift = if m.one_pixel_shift {
        "with the authors' 1-px shift"
    } else {
        "clean (no 1-px shift)"
    };
    Sequences {
        count: options.clips,
        len: options.seq_len,
        channels: 1,
        height: canvas,
        width: canvas,
        pixels,
        provenance: Provenance {
            synthetic: digits.synthetic,
            source: format!(
                "{}, authors' moving-MNIST motion, {shift}, seed {}",
                digits.source, options.seed
            ),
        },
    }
}

/// Adds `digit` at (left, top) with uint8 saturation, cropping at the canvas border.
fn paste_saturating(out: &mut [u8], canvas: usize, digit: &[u8], size: usize, left: i64, top: i64) {
    for dy in 0..size {
        let y = top + dy as i64;
        if y < 0 || y >= canvas as i64 {
            continue;
        }
        for dx in 0..size {
            let x = left + dx as i64;
            if x < 0 || x >= canvas as i64 {
                continue;
            }
            let p = &mut out[y as usize * canvas + x as usize];
            *p = p.saturating_add(digit[dy * size + dx]);
        }
    }
}

fn shift_right_one(frame: &mut [u8], canvas: usize) {
    for row in frame.chunks_exact_mut(canvas) {
        row.copy_within(0..canvas - 1, 1);
        row[0] = 0;
    }
}

//! Test clips changed the way the temporal-robustness evaluation asks: a dropped input frame,
//! noisy inputs, another frame rate. Only the observed (input) frames are changed; the frames
//! to predict stay the ground truth.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use vpbench_datasets::{Provenance, Sequences};

fn relabelled(clips: &Sequences, pixels: Vec<u8>, len: usize, what: &str) -> Sequences {
    Sequences {
        len,
        pixels,
        provenance: Provenance { synthetic: clips.provenance.synthetic, source: format!("{}; {what}", clips.provenance.source) },
        ..*clips
    }
}

/// Input frame `frame` (0-based, `1 <= frame < in_len`) of every clip replaced by the one
/// before it, as a camera that dropped a frame and repeated the last.
pub fn drop_input_frame(clips: &Sequences, frame: usize) -> Sequences {
    assert!(frame >= 1 && frame < clips.len, "frame {frame} of {}", clips.len);
    let f = clips.frame_size();
    let mut pixels = clips.pixels.clone();
    for clip in pixels.chunks_exact_mut(clips.clip_size()) {
        clip.copy_within((frame - 1) * f..frame * f, frame * f);
    }
    relabelled(clips, pixels, clips.len, &format!("input frame {} dropped (previous frame repeated)", frame + 1))
}

/// Gaussian noise of standard deviation `sigma` (on the [0, 1] scale) added to the first
/// `in_len` frames of every clip, rounded and clipped to 8 bits; seeded.
pub fn noisy_inputs(clips: &Sequences, in_len: usize, sigma: f64, seed: u64) -> Sequences {
    let normal = Normal::new(0.0, sigma * 255.0).expect("a finite, non-negative sigma");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let inputs = in_len * clips.frame_size();
    let mut pixels = clips.pixels.clone();
    for clip in pixels.chunks_exact_mut(clips.clip_size()) {
        for p in &mut clip[..inputs] {
            *p = (*p as f64 + normal.sample(&mut rng)).round().clamp(0.0, 255.0) as u8;
        }
    }
    relabelled(clips, pixels, clips.len, &format!("Gaussian noise sigma {sigma} on the {in_len} input frames (seed {seed})"))
}

/// Every other frame of clips twice as long (`2 len - 1` frames in, `len` out): the same
/// motion at half the frame rate, twice as fast per frame.
pub fn half_frame_rate(clips: &Sequences) -> Sequences {
    let len = clips.len.div_ceil(2);
    let f = clips.frame_size();
    let mut pixels = Vec::with_capacity(clips.count * len * f);
    for clip in clips.pixels.chunks_exact(clips.clip_size()) {
        for t in (0..clips.len).step_by(2) {
            pixels.extend_from_slice(&clip[t * f..(t + 1) * f]);
        }
    }
    relabelled(clips, pixels, len, "every other frame (half the frame rate)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(count: usize, len: usize) -> Sequences {
        // pixel value = 10 * frame + clip, 2x2 frames
        let pixels = (0..count).flat_map(|c| (0..len).flat_map(move |t| [(10 * t + c) as u8; 4])).collect();
        Sequences { count, len, channels: 1, height: 2, width: 2, pixels, provenance: Provenance { synthetic: true, source: "ramp".into() } }
    }

    fn frame(s: &Sequences, clip: usize, t: usize) -> &[u8] {
        &s.clip(clip)[t * 4..(t + 1) * 4]
    }

    #[test]
    fn a_dropped_frame_repeats_the_one_before_and_nothing_else_changes() {
        let clips = ramp(2, 6);
        let dropped = drop_input_frame(&clips, 2);
        assert_eq!(frame(&dropped, 1, 2), [11; 4]);
        for t in [0, 1, 3, 4, 5] {
            assert_eq!(frame(&dropped, 1, t), frame(&clips, 1, t));
        }
        assert!(dropped.provenance.source.contains("input frame 3 dropped"));
    }

    #[test]
    fn noise_changes_only_the_inputs_and_is_seeded() {
        let clips = ramp(3, 6);
        let noisy = noisy_inputs(&clips, 3, 0.1, 7);
        assert_eq!(noisy.pixels, noisy_inputs(&clips, 3, 0.1, 7).pixels);
        let changed = (0..3).any(|c| (0..3).any(|t| frame(&noisy, c, t) != frame(&clips, c, t)));
        assert!(changed);
        for c in 0..3 {
            for t in 3..6 {
                assert_eq!(frame(&noisy, c, t), frame(&clips, c, t), "target frame {t} changed");
            }
        }
    }

    #[test]
    fn half_the_frame_rate_keeps_every_other_frame() {
        let clips = ramp(2, 7);
        let slow = half_frame_rate(&clips);
        assert_eq!(slow.len, 4);
        assert_eq!((0..4).map(|t| frame(&slow, 1, t)[0]).collect::<Vec<_>>(), [1, 21, 41, 61]);
    }
}

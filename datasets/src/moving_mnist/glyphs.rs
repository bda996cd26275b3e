//! Digit-like glyphs drawn by the code, so Moving MNIST runs with no download.
//!
//! Each glyph is a seven-segment digit with random slant, scale, stroke width and
//! endpoint jitter, rendered with anti-aliased thick strokes on a 28x28 canvas (MNIST's
//! size, digit inside a centred 20x20 box as in MNIST).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::DigitPool;
use crate::frames::distance_to_segment;

const SIZE: usize = 28;

/// Segments a..g as endpoints in a unit box (x right, y down).
const SEGMENTS: [((f64, f64), (f64, f64)); 7] = [
    ((0.0, 0.0), (1.0, 0.0)), // a top
    ((1.0, 0.0), (1.0, 0.5)), // b top right
    ((1.0, 0.5), (1.0, 1.0)), // c bottom right
    ((0.0, 1.0), (1.0, 1.0)), // d bottom
    ((0.0, 0.5), (0.0, 1.0)), // e bottom left
    ((0.0, 0.0), (0.0, 0.5)), // f top left
    ((0.0, 0.5), (1.0, 0.5)), // g middle
];

/// Which segments each digit lights, as a bit mask over a..g.
const DIGITS: [u8; 10] = [
    0b0111111, 0b0000110, 0b1011011, 0b1001111, 0b1100110, 0b1101101, 0b1111101, 0b0000111,
    0b1111111, 0b1101111,
];

/// `count` glyphs of the ten digits (cycling 0..9), seeded.
pub fn synthetic_digits(seed: u64, count: usize) -> DigitPool {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_d161);
    let images = (0..count)
        .map(|i| glyph(DIGITS[i % 10], &mut rng))
        .collect();
    DigitPool {
        size: SIZE,
        images,
        source: format!("built-in seven-segment glyphs (seed {seed})"),
        synthetic: true,
    }
}

fn glyph(mask: u8, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let width = rng.random_range(9.0..13.0);
    let height = rng.random_range(17.0..20.0);
    let slant = rng.random_range(-0.25..0.25);
    let stroke = rng.random_range(1.4..2.2);
    let (cx, cy) = (SIZE as f64 / 2.0, SIZE as f64 / 2.0);
    let mut jitter = || (rng.random_range(-0.06..0.06), rng.random_range(-0.04..0.04));
    let to_pixels = |(u, v): (f64, f64), (ju, jv): (f64, f64)| {
        let (u, v) = (u + ju - 0.5, v + jv - 0.5);
        (cx + u * width - slant * v * height, cy + v * height)
    };
    let strokes: Vec<((f64, f64), (f64, f64))> = SEGMENTS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, &(p, q))| (to_pixels(p, jitter()), to_pixels(q, jitter())))
        .collect();
    let mut image = vec![0u8; SIZE * SIZE];
    for y in 0..SIZE {
        for x in 0..SIZE {
            let p = (x as f64 + 0.5, y as f64 + 0.5);
            let d = strokes
                .iter()
                .map(|&(a, b)| distance_to_segment(p, a, b))
                .fold(f64::INFINITY, f64::min);
            let ink = (stroke - d + 0.5).clamp(0.0, 1.0);
            image[y * SIZE + x] = (ink * 255.0).round() as u8;
        }
    }
    image
}

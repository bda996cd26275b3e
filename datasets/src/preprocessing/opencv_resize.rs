//! OpenCV's `cv2.resize(img, (out_w, out_h))` with its default `INTER_LINEAR`, bit for bit
//! (opencv-python 4.8 on x86-64; checked against ../shared/golden/preprocessing).
//!
//! It is plain two-tap bilinear with half-pixel centres, no anti-aliasing when shrinking (a
//! 900 -> 180 radar frame reads 2 of every 5 source pixels per axis). What makes it OpenCV's:
//! - Source positions `(d + 0.5) * scale - 0.5` rounded to float32, `scale` the inverse of
//!   `out / in` in double; horizontally clamped to the image with weight 0 past an edge,
//!   vertically the row indices clamped but the weight kept.
//! - uint8 is fixed point: weights `round(w * 2048)` as int16, the horizontal pass exact in
//!   int32, the vertical pass in OpenCV's SIMD form `((b0 * (r0 >> 4)) >> 16) + ((b1 *
//!   (r1 >> 4)) >> 16)`, rounded `(v + 2) >> 2`, for the columns its vector loops cover, and
//!   `(b0 r0 + b1 r1 + 2^21) >> 22` for the few left at the end of a row.
//! - float32 does not take that generic code in opencv-python (its builds carry Intel IPP,
//!   which evidently serves float32 linear resizes): measured against the reference, it is
//!   `s0 + f (s1 - s0)` with one fused multiply-add per pass and the fraction `f` taken from
//!   the double-precision position. That reproduces all but 47 of the 76 112 reference pixels
//!   exactly, those within 6e-8 (a weight that is 0 in exact arithmetic but not in IPP's,
//!   and two columns next to the right edge); the rule behind them was not found.

/// Weight scale of OpenCV's fixed-point path (`INTER_RESIZE_COEF_BITS = 11`).
const COEF_SCALE: f32 = 2048.0;
/// Bytes of one SIMD register in the vertical pass of the uint8 path (SSE2, OpenCV's x86-64
/// baseline).
const SIMD_BYTES: usize = 16;

/// The two source taps of each output position along one axis.
struct Taps {
    first: Vec<usize>,
    second: Vec<usize>,
    /// `[1 - f, f]` per output position, `f` from the float32 position (OpenCV's fixed-point
    /// weights).
    weights: Vec<[f32; 2]>,
    /// `f` from the double position (the float32 path).
    fractions: Vec<f32>,
}

/// The taps along one axis. `clamp_weight`: horizontally OpenCV also zeroes the fraction
/// where the position falls off the image; vertically it keeps it and only clamps the rows.
fn taps(src: usize, dst: usize, clamp_weight: bool) -> Taps {
    let scale = 1.0 / (dst as f64 / src as f64);
    let last = src as i64 - 1;
    let mut taps = Taps {
        first: Vec::with_capacity(dst),
        second: Vec::with_capacity(dst),
        weights: Vec::with_capacity(dst),
        fractions: Vec::with_capacity(dst),
    };
    for d in 0..dst {
        let exact = (d as f64 + 0.5) * scale - 0.5;
        let position = exact as f32;
        let mut index = position.floor() as i64;
        let mut fraction = position - index as f32;
        let mut exact_fraction = (exact - exact.floor()) as f32;
        if clamp_weight && index < 0 {
            (index, fraction, exact_fraction) = (0, 0.0, 0.0);
        }
        if clamp_weight && index >= last {
            (index, fraction, exact_fraction) = (last, 0.0, 0.0);
        }
        taps.first.push(index.clamp(0, last) as usize);
        taps.second.push((index + 1).clamp(0, last) as usize);
        taps.weights.push([1.0 - fraction, fraction]);
        taps.fractions.push(exact_fraction);
    }
    taps
}

/// `round(w * 2048)` to int16 as OpenCV's `saturate_cast<short>` (ties to even).
fn fixed(weight: f32) -> i32 {
    (weight * COEF_SCALE).round_ties_even() as i32
}

/// How many leading columns of a `width`-wide row OpenCV's vector loops of the vertical pass
/// cover (`VResizeLinearVec_32s8u`: 16 columns at a time, then 8 while more than 8 remain).
fn simd_columns(width: usize) -> usize {
    let (wide, narrow) = (SIMD_BYTES, SIMD_BYTES / 2);
    let mut x = 0;
    while x + wide <= width {
        x += wide;
    }
    while x + narrow <= width {
        x += narrow;
    }
    x
}

/// `cv2.resize(src, (out_w, out_h))` of a `height x width` uint8 image (one channel).
pub fn resize_linear_u8(src: &[u8], hw: [usize; 2], out_hw: [usize; 2]) -> Vec<u8> {
    resize_linear_u8_channel(src, hw, out_hw, 1)
}

/// Channel 0 of `cv2.resize` of a `channels`-channel image whose channels all equal `src`
/// (what `cv2.imread` makes of a greyscale PNG: three equal BGR channels). The result differs
/// from the one-channel resize in a few columns: the vertical pass runs over rows of
/// `out_w * channels` values, so its vector loops end elsewhere.
pub fn resize_linear_u8_channel(src: &[u8], [height, width]: [usize; 2], [out_h, out_w]: [usize; 2], channels: usize) -> Vec<u8> {
    assert_eq!(src.len(), height * width, "resize: {} values for a {height}x{width} image", src.len());
    let (across, down) = (taps(width, out_w, true), taps(height, out_h, false));
    let alpha: Vec<[i32; 2]> = across.weights.iter().map(|w| w.map(fixed)).collect();
    let horizontal = |row: usize| -> Vec<i32> {
        let line = &src[row * width..][..width];
        (0..out_w)
            .map(|x| line[across.first[x]] as i32 * alpha[x][0] + line[across.second[x]] as i32 * alpha[x][1])
            .collect()
    };
    let vector_end = simd_columns(out_w * channels).div_ceil(channels);
    let mut out = Vec::with_capacity(out_h * out_w);
    for y in 0..out_h {
        let (top, bottom) = (horizontal(down.first[y]), horizontal(down.second[y]));
        let [b0, b1] = down.weights[y].map(fixed);
        for x in 0..out_w {
            let value = if x < vector_end {
                let (hi0, hi1) = ((b0 * (top[x] >> 4)) >> 16, (b1 * (bottom[x] >> 4)) >> 16);
                (hi0 + hi1 + 2) >> 2
            } else {
                (top[x] * b0 + bottom[x] * b1 + (1 << 21)) >> 22
            };
            out.push(value.clamp(0, 255) as u8);
        }
    }
    out
}

/// `cv2.resize(src, (out_w, out_h))` of a `height x width` float32 image (one channel).
pub fn resize_linear_f32(src: &[f32], [height, width]: [usize; 2], [out_h, out_w]: [usize; 2]) -> Vec<f32> {
    assert_eq!(src.len(), height * width, "resize: {} values for a {height}x{width} image", src.len());
    let (across, down) = (taps(width, out_w, true), taps(height, out_h, false));
    let lerp = |a: f32, b: f32, f: f32| (b - a).mul_add(f, a);
    let horizontal = |row: usize| -> Vec<f32> {
        let line = &src[row * width..][..width];
        (0..out_w).map(|x| lerp(line[across.first[x]], line[across.second[x]], across.fractions[x])).collect()
    };
    let mut out = Vec::with_capacity(out_h * out_w);
    for y in 0..out_h {
        let (top, bottom) = (horizontal(down.first[y]), horizontal(down.second[y]));
        out.extend(top.iter().zip(&bottom).map(|(&t, &b)| lerp(t, b, down.fractions[y])));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vector_loops_cover_what_opencvs_do() {
        // 16 at a time while 16 fit, then 8 while 8 fit; the rest is scalar
        assert_eq!([88, 180, 64, 540, 7].map(simd_columns), [88, 176, 64, 536, 0]);
    }

    #[test]
    fn a_colour_read_moves_the_scalar_columns() {
        // 180 wide: one channel leaves 176..180 to the scalar loop; three channels (540
        // values, 536 vectorised) only the last pixel's channels 1 and 2
        let src: Vec<u8> = (0..120 * 160).map(|i| (i * 7 % 251) as u8).collect();
        let (grey, colour) = (resize_linear_u8(&src, [120, 160], [90, 180]), resize_linear_u8_channel(&src, [120, 160], [90, 180], 3));
        let differing: Vec<usize> = (0..grey.len()).filter(|&i| grey[i] != colour[i]).map(|i| i % 180).collect();
        assert!(!differing.is_empty() && differing.iter().all(|&x| (176..179).contains(&x)), "{differing:?}");
    }
}

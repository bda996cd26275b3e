//! Sigmoid and tanh for flex, vectorised, with their backward.
//!
//! burn-flex 0.22 evaluates both one element at a time through libm (`tanhf` calls `expm1f`):
//! after the convolutions, that was a third of a ConvLSTM training step. Here both come
//! from one vectorisable `exp` (Cephes' single-precision polynomial, about 1 ulp), built
//! for AVX-512 or AVX2+FMA when the CPU has them (checked at run time), else for the baseline.
//! Largest error against the f64 functions, over [-20, 20]: see the tests (a few 1e-7).

use rayon::prelude::*;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two, so `x - n ln2` is exact in f32 (Cody-Waite).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 * 2^23: floats this large have unit spacing, so `n + ROUNDING_MAGIC` holds `n` exactly.
const ROUNDING_MAGIC: f32 = 12_582_912.0;

/// `e^x` for `x <= 0` (all callers pass `-|x|`): range reduction to `r` in `[-ln2/2, ln2/2]`,
/// Cephes' degree-6 polynomial for `e^r`, and `2^n` written into the exponent bits.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_2e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let e_r = p * r * r + r + 1.0;
    // n is an integer in [-126, 0]: adding 1.5 * 2^23 leaves it in the low mantissa bits,
    // an integer-only conversion that vectorises (a float-to-int cast does not).
    let n_bits = (n + ROUNDING_MAGIC).to_bits().wrapping_sub(ROUNDING_MAGIC.to_bits());
    e_r * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

#[inline(always)]
fn sigmoid_one(x: f32) -> f32 {
    // e = e^{-|x|} never overflows; sigmoid(x) = 1/(1+e) for x >= 0, e/(1+e) below.
    let e = exp_nonpositive(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 { s } else { e * s }
}

#[inline(always)]
fn tanh_one(x: f32) -> f32 {
    let a = x.abs();
    // Near 0, 1 - 2/(1+e^{2a}) cancels: the odd series to x^9 is exact to f32 below 0.2.
    let a2 = a * a;
    let series = a * (1.0 + a2 * (-1.0 / 3.0 + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0 + a2 * (62.0 / 2835.0)))));
    let e = exp_nonpositive(-2.0 * a);
    let large = (1.0 - e) / (1.0 + e);
    let t = if a < 0.2 { series } else { large };
    t.copysign(x)
}

/// Defines `pub fn $name(outputs.., inputs..)`: `$body` (an array, one value per output)
/// evaluated for every index over equal-length slices, compiled three times (AVX-512,
/// AVX2+FMA, baseline) and dispatched on the CPU's features at run time.
macro_rules! elementwise {
    ($(#[$doc:meta])* $name:ident, |$($arg:ident),+| -> [$($out:ident),+] $body:expr) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub fn $name($($out: &mut [f32],)+ $($arg: &[f32]),+) {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
            unsafe fn widest($($out: &mut [f32],)+ $($arg: &[f32]),+) {
                narrow($($out,)+ $($arg),+)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn wide($($out: &mut [f32],)+ $($arg: &[f32]),+) {
                narrow($($out,)+ $($arg),+)
            }
            #[inline(always)]
            fn narrow($($out: &mut [f32],)+ $($arg: &[f32]),+) {
                let n = [$($out.len()),+][0];
                $(let $out = &mut $out[..n];)+
                $(let $arg = &$arg[..n];)+
                for i in 0..n {
                    let values: [f32; _] = {
                        $(let $arg = $arg[i];)+
                        $body
                    };
                    let mut _k = 0;
                    $($out[i] = values[_k]; _k += 1;)+
                }
            }
            #[cfg(target_arch = "x86_64")]
            if crate::simd::level() >= crate::simd::SimdLevel::Avx512 {
                // SAFETY: the CPU has the features `widest` is compiled for (the level is at most the machine's).
                return unsafe { widest($($out,)+ $($arg),+) };
            }
            #[cfg(target_arch = "x86_64")]
            if crate::simd::level() >= crate::simd::SimdLevel::Avx2 {
                // SAFETY: the CPU has the features `wide` is compiled for (the level is at most the machine's).
                return unsafe { wide($($out,)+ $($arg),+) };
            }
            narrow($($out,)+ $($arg),+)
        }
    };
}

elementwise!(sigmoid_into, |x| -> [out] [sigmoid_one(x)]);
elementwise!(tanh_into, |x| -> [out] [tanh_one(x)]);
// Backward from the saved output y: sigmoid' = y (1 - y), tanh' = 1 - y^2.
elementwise!(sigmoid_backward_into, |y, g| -> [out] [g * y * (1.0 - y)]);
elementwise!(tanh_backward_into, |y, g| -> [out] [g * (1.0 - y * y)]);
elementwise!(
    /// The LSTM memory update from gate pre-activations: `sigmoid(f) c + sigmoid(i) tanh(g)`.
    lstm_memory_into, |i, f, g, c| -> [out] [sigmoid_one(f) * c + sigmoid_one(i) * tanh_one(g)]
);
elementwise!(
    /// Backward of [`lstm_memory_into`] for upstream `dm`: the pre-activation gradients of
    /// `i, f, g` and the gradient of the previous memory `c` (activations recomputed).
    lstm_memory_backward_into, |i, f, g, c, dm| -> [di, df, dg, dc] {
        let (si, sf, tg) = (sigmoid_one(i), sigmoid_one(f), tanh_one(g));
        [dm * tg * si * (1.0 - si), dm * c * sf * (1.0 - sf), dm * si * (1.0 - tg * tg), dm * sf]
    }
);

elementwise!(
    /// The LSTM output `sigmoid(o) tanh(c)` from the output gate's pre-activation.
    lstm_output_into, |o, c| -> [out] [sigmoid_one(o) * tanh_one(c)]
);
elementwise!(
    /// Backward of [`lstm_output_into`] for upstream `dh`: gradients of `o` and `c`.
    lstm_output_backward_into, |o, c, dh| -> [d_o, d_c] {
        let (so, tc) = (sigmoid_one(o), tanh_one(c));
        [dh * tc * so * (1.0 - so), dh * so * (1.0 - tc * tc)]
    }
);

elementwise!(
    /// The LSTM memory increment `sigmoid(i) tanh(g)` alone (PredRNN-V2's decoupling loss
    /// reads the increments of both memories).
    lstm_increment_into, |i, g| -> [out] [sigmoid_one(i) * tanh_one(g)]
);
elementwise!(
    /// Backward of [`lstm_increment_into`] for upstream `dd`: gradients of `i` and `g`.
    lstm_increment_backward_into, |i, g, dd| -> [di, dg] {
        let (si, tg) = (sigmoid_one(i), tanh_one(g));
        [dd * tg * si * (1.0 - si), dd * si * (1.0 - tg * tg)]
    }
);

/// Below this many elements the work is not split across threads.
pub(crate) const PARALLEL_CHUNK: usize = 1 << 15;

/// A pointer that may cross threads: [`chunked`] hands each thread a disjoint range.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: only used to rebuild disjoint sub-slices, one per chunk (see `chunked`).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// Runs `f` over matching chunks of every output and input (all of length `len`), on
/// rayon's threads for large tensors.
pub fn chunked<const O: usize>(
    outputs: [&mut [f32]; O],
    inputs: &[&[f32]],
    f: impl Fn([&mut [f32]; O], &[&[f32]]) + Sync,
) {
    let len = outputs[0].len();
    assert!(outputs.iter().all(|o| o.len() == len) && inputs.iter().all(|i| i.len() == len), "elementwise operands differ in length");
    let pointers = outputs.map(|o| SharedOut(o.as_mut_ptr()));
    (0..len.div_ceil(PARALLEL_CHUNK)).into_par_iter().for_each(|chunk| {
        let start = chunk * PARALLEL_CHUNK;
        let n = PARALLEL_CHUNK.min(len - start);
        // SAFETY: chunks are disjoint ranges of buffers `len` long, borrowed mutably by the
        // caller for the duration of this call.
        let outs = pointers.map(|p| unsafe { std::slice::from_raw_parts_mut(p.0.add(start), n) });
        let parts: Vec<&[f32]> = inputs.iter().map(|s| &s[start..start + n]).collect();
        f(outs, &parts);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worst(f: fn(&mut [f32], &[f32]), reference: fn(f64) -> f64) -> (f64, f64) {
        let xs: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 1e-4).collect();
        let mut ys = vec![0.0; xs.len()];
        f(&mut ys, &xs);
        let (mut abs, mut rel) = (0.0f64, 0.0f64);
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = reference(x as f64);
            abs = abs.max((y as f64 - want).abs());
            if want.abs() > 1e-30 {
                rel = rel.max(((y as f64 - want) / want).abs());
            }
        }
        (abs, rel)
    }

    #[test]
    fn sigmoid_is_accurate() {
        let (abs, rel) = worst(sigmoid_into, |x| 1.0 / (1.0 + (-x).exp()));
        println!("sigmoid: abs {abs:e}, rel {rel:e}");
        assert!(abs < 2e-7 && rel < 1e-6, "sigmoid: abs {abs:e}, rel {rel:e}");
    }

    #[test]
    fn tanh_is_accurate() {
        let (abs, rel) = worst(tanh_into, f64::tanh);
        println!("tanh: abs {abs:e}, rel {rel:e}");
        assert!(abs < 2e-7 && rel < 1e-6, "tanh: abs {abs:e}, rel {rel:e}");
    }

    #[test]
    fn extremes_saturate_without_nan() {
        let xs = [-1e30f32, -100.0, -88.0, 0.0, -0.0, 88.0, 100.0, 1e30];
        let (mut s, mut t) = ([0.0; 8], [0.0; 8]);
        sigmoid_into(&mut s, &xs);
        tanh_into(&mut t, &xs);
        // Below -87 the exponential is held at e^-87 (1.6e-38) instead of a subnormal.
        assert!(s[..3].iter().all(|&v| (0.0..2e-38).contains(&v)), "{s:?}");
        assert_eq!(s[3..], [0.5, 0.5, 1.0, 1.0, 1.0]);
        assert_eq!(t, [-1.0, -1.0, -1.0, 0.0, -0.0, 1.0, 1.0, 1.0]);
    }
}

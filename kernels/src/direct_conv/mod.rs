//! "Same" convolutions (stride 1, a square 3x3 or 5x5 kernel, padding `k / 2`) computed
//! directly on AVX2 + FMA or AVX-512: no patch matrix.
//!
//! im2col writes every input value `k * k` times into a patch matrix that `gemm` then packs
//! again; for a 5x5 kernel at the paper's 64x64 that is 15% of a TMS-LSTM training step on an
//! AVX2 machine (benchmarks/cpu-profile.md, fourth pass), and PyTorch's oneDNN convolution,
//! which reads the input in place, was the faster one there. Here each tile of sixteen output
//! channels by six pixels of a row keeps its twelve sums in vector registers while the kernel
//! ([`tile`]) walks the input channels and taps, reading the input straight from a
//! zero-padded copy of a band of rows (one copy of the input, not 25).
//!
//! The same kernel gives the input gradient: `dx = conv(dy, W')` with `W'` the weights with
//! input and output channels swapped and the taps turned by 180 degrees; the weight gradient
//! reads the same padded bands ([`weight_gradient`]).
//!
//! It runs on the "avx2" and "avx512" arithmetic classes ([`crate::arithmetic_class`]), each
//! with kernels of its own vector width ([`Isa`]) that sum in the same order. On AVX-512 it
//! first ran gemm's 16-lane kernels on the patch matrix; the patch matrix cost the same there
//! (benchmarks/cpu-profile.md, sixth pass).

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ops::Range;

use rayon::prelude::*;

use crate::conv::{ConvGeometry, at_least, fill_rows};
use crate::conv_input::Input;

mod isa;
mod tile;
mod transpose;
mod weight_gradient;

pub use isa::Isa;
use tile::{Block, CHANNELS, Pass};
pub use weight_gradient::add_weight_gradient;

/// Padded rows are whole multiples of eight values (an AVX2 vector), and an image narrower
/// than that is left to im2col.
const LANES: usize = 8;
/// A band's padded input stays within about 192 KiB, so it is in L2 while each block of
/// output channels reads it again.
const BAND_FLOATS: usize = 48 * 1024;

/// The direct kernels that compute convolution `g` on this machine, if any do.
pub fn kernel_for(g: &ConvGeometry) -> Option<Isa> {
    Isa::of_machine().filter(|_| fits(g))
}

/// The shapes the kernel implements, whatever the machine.
fn fits(g: &ConvGeometry) -> bool {
    let k = g.kernel_h;
    g.kernel_w == k
        && matches!(k, 3 | 5)
        && g.pad_h == k / 2
        && g.pad_w == k / 2
        && g.out_h == g.height
        && g.out_w == g.width
        && g.width >= LANES
}

/// Weights in tiles of [`CHANNELS`] outputs: `[tile][input][ky][kx]` blocks of `CHANNELS`,
/// zero past the last output.
pub struct PackedWeights {
    values: Vec<Block>,
    inputs: usize,
    outputs: usize,
    kernel: usize,
}

impl PackedWeights {
    fn new(outputs: usize, inputs: usize, kernel: usize, weight: impl Fn(usize, usize, usize, usize) -> f32 + Sync) -> Self {
        let (tiles, taps) = (outputs.div_ceil(CHANNELS), kernel * kernel);
        let mut values = vec![Block::default(); tiles * inputs * taps];
        // block by block, each written whole while the sixteen weight rows it reads from stay
        // in L1 for the next taps; lanes past the last output stay zero. Tiles in parallel:
        // on one thread it left the other core idle for 6% of a 16x16 5x5 training step.
        // (Output by output the stores went one per cache line through L2; with a test per
        // lane in `from_fn` it was 8%.)
        values.par_chunks_exact_mut(inputs * taps).enumerate().for_each(|(tile, tile_blocks)| {
            let channels = tile * CHANNELS..((tile + 1) * CHANNELS).min(outputs);
            let mut blocks = tile_blocks.iter_mut();
            for i in 0..inputs {
                for (ky, kx) in (0..kernel).flat_map(|ky| (0..kernel).map(move |kx| (ky, kx))) {
                    let block = blocks.next().expect("one block per input and tap");
                    for (lane, o) in block.0.iter_mut().zip(channels.clone()) {
                        *lane = weight(o, i, ky, kx);
                    }
                }
            }
        });
        Self { values, inputs, outputs, kernel }
    }

    /// The forward's weights over the input's channels `live` (`weight`: `[cout, cin, k, k]`).
    pub fn forward(g: &ConvGeometry, weight: &[f32], live: Range<usize>) -> Self {
        let (k, cin) = (g.kernel_h, g.channels_in);
        Self::new(g.channels_out, live.len(), k, |o, i, ky, kx| weight[((o * cin + live.start + i) * k + ky) * k + kx])
    }

    /// The input gradient's weights for the input's channels `graded`: outputs and inputs
    /// swapped, taps turned.
    pub fn input_gradient(g: &ConvGeometry, weight: &[f32], graded: Range<usize>) -> Self {
        let (k, cin) = (g.kernel_h, g.channels_in);
        Self::new(graded.len(), g.channels_out, k, |o, i, ky, kx| {
            weight[((i * cin + graded.start + o) * k + (k - 1 - ky)) * k + (k - 1 - kx)]
        })
    }

    /// Output tile `t`'s weights for `inputs`.
    fn tile_inputs(&self, t: usize, inputs: Range<usize>) -> &[Block] {
        let per_input = self.kernel * self.kernel;
        &self.values[(t * self.inputs + inputs.start) * per_input..][..inputs.len() * per_input]
    }

    fn tiles(&self) -> usize {
        self.outputs.div_ceil(CHANNELS)
    }
}

/// Where one image's output channels go: a plane of `h * w` values each, or nowhere.
pub struct OutputPlanes(Vec<*mut f32>);

// SAFETY: the planes are disjoint buffers the caller holds mutably for the convolution's
// length; each band of rows writes only its own rows of each plane.
unsafe impl Send for OutputPlanes {}
unsafe impl Sync for OutputPlanes {}

impl OutputPlanes {
    /// `planes[o]`: output channel `o`'s plane, at least `h * w` values; `None`: not wanted.
    #[cfg(test)]
    pub fn new(planes: Vec<Option<&mut [f32]>>, plane_len: usize) -> Self {
        Self(
            planes
                .into_iter()
                .map(|p| p.map_or(std::ptr::null_mut(), |p| {
                    assert!(p.len() >= plane_len, "output plane shorter than the image");
                    p.as_mut_ptr()
                }))
                .collect(),
        )
    }

    /// Planes not yet written (`None`: not wanted): the convolution writes every value of
    /// each (`image` never reads its output), so they need no zeros first.
    pub fn uninit(planes: Vec<Option<&mut [MaybeUninit<f32>]>>, plane_len: usize) -> Self {
        Self(
            planes
                .into_iter()
                .map(|p| p.map_or(std::ptr::null_mut(), |p| {
                    assert!(p.len() >= plane_len, "output plane shorter than the image");
                    p.as_mut_ptr().cast::<f32>()
                }))
                .collect(),
        )
    }
}

/// One image's convolution: `out[o] = bias[o] + Σ_i Σ_taps weights · input_plane(i)` shifted,
/// band by band of output rows (the bands in parallel when `parallel`), on `isa`'s kernels.
pub fn image<'a>(
    g: &ConvGeometry,
    isa: Isa,
    input_plane: &(dyn Fn(usize) -> &'a [f32] + Sync),
    weights: &PackedWeights,
    bias: Option<&[f32]>,
    out: &OutputPlanes,
    parallel: bool,
) {
    assert!(fits(g), "direct convolution of an unsupported shape: {g:?}");
    assert_eq!(out.0.len(), weights.outputs, "one output plane per output channel");
    let bands = bands(g, weights.inputs);
    let run = |rows: Range<usize>| {
        SCRATCH.with(|scratch| band(g, isa, input_plane, weights, bias, out, rows, &mut scratch.borrow_mut()))
    };
    if parallel {
        bands.into_par_iter().for_each(run);
    } else {
        bands.into_iter().for_each(run);
    }
}

/// A thread's buffers for one band, kept for its next: every value is rewritten before it
/// is read.
#[derive(Default)]
struct Scratch {
    /// The band's input rows, zero-padded.
    padded: Vec<f32>,
    /// The band's sums (`[tile][pixel][CHANNELS]`).
    sums: Vec<f32>,
    /// The weight gradient's upstream gradient of the band, `[tile][pixel]` blocks of
    /// `CHANNELS` output channels.
    gradient_blocks: Vec<Block>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Padded row length: the row rounded up to whole vectors, plus the padding either side.
fn padded_width(g: &ConvGeometry) -> usize {
    g.width.next_multiple_of(LANES) + 2 * g.pad_w
}

/// Output-row bands of near-equal heights whose padded input fits [`BAND_FLOATS`].
fn bands(g: &ConvGeometry, inputs: usize) -> Vec<Range<usize>> {
    let padded_rows = BAND_FLOATS / (inputs.max(1) * padded_width(g));
    let rows = padded_rows.saturating_sub(2 * g.pad_h).clamp(1, g.out_h);
    let step = g.out_h.div_ceil(g.out_h.div_ceil(rows));
    (0..g.out_h).step_by(step).map(|r| r..(r + step).min(g.out_h)).collect()
}

/// Output rows `rows` of every output channel: the sums are kept in `scratch.sums`
/// (`[tile][pixel][CHANNELS]`) over passes of a chunk of inputs each, then written out with
/// the bias.
#[allow(clippy::too_many_arguments)]
fn band<'a>(
    g: &ConvGeometry,
    isa: Isa,
    input_plane: &(dyn Fn(usize) -> &'a [f32] + Sync),
    weights: &PackedWeights,
    bias: Option<&[f32]>,
    out: &OutputPlanes,
    rows: Range<usize>,
    scratch: &mut Scratch,
) {
    let (stride, w) = (padded_width(g), g.width);
    let plane = (rows.len() + 2 * g.pad_h) * stride;
    let padded = at_least(&mut scratch.padded, weights.inputs * plane);
    for (i, dst) in padded.chunks_exact_mut(plane).enumerate() {
        pad_rows(g, input_plane(i), rows.start, dst);
    }
    let tile_len = rows.len() * w * CHANNELS;
    let sums = at_least(&mut scratch.sums, weights.tiles() * tile_len);
    let chunk = chunk_inputs(g.kernel_h, weights.inputs);
    for inputs in (0..weights.inputs).step_by(chunk).map(|i| i..(i + chunk).min(weights.inputs)) {
        let pass = Pass { plane, stride, inputs: inputs.len(), first: inputs.start == 0 };
        let padded = &padded[inputs.start * plane..];
        for (t, tile_sums) in sums.chunks_exact_mut(tile_len).enumerate() {
            let tile_weights = weights.tile_inputs(t, inputs.clone());
            for (r, c) in (0..rows.len()).flat_map(|r| (0..w).step_by(isa.pixels()).map(move |c| (r, c))) {
                let pixels = (w - c).min(isa.pixels());
                tile::tile(isa, g.kernel_h, padded, &pass, tile_weights, r * stride + c, pixels, &mut tile_sums[(r * w + c) * CHANNELS..]);
            }
        }
    }
    write_out(g, isa, rows, sums, tile_len, bias, out);
}

/// Output rows `rows` of each wanted channel = the band's sums (`[tile][pixel][CHANNELS]`)
/// plus the bias: on AVX-512 sixteen pixels at a time transposed in registers, else (and for
/// the last pixels) in blocks of 64 pixels, value by value (4 KiB of sums, read once per
/// channel from L1).
fn write_out(g: &ConvGeometry, isa: Isa, rows: Range<usize>, sums: &[f32], tile_len: usize, bias: Option<&[f32]>, out: &OutputPlanes) {
    const BLOCK: usize = 64;
    let pixels = rows.len() * g.width;
    let first = rows.start * g.width;
    for (t, tile_sums) in sums.chunks_exact(tile_len).enumerate() {
        let channels = t * CHANNELS..((t + 1) * CHANNELS).min(out.0.len());
        let tile_bias: [f32; CHANNELS] = std::array::from_fn(|n| bias.map_or(0.0, |b| b.get(t * CHANNELS + n).copied().unwrap_or(0.0)));
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if isa == Isa::Avx512 {
            let planes: [*mut f32; CHANNELS] = std::array::from_fn(|n| out.0.get(t * CHANNELS + n).copied().unwrap_or(std::ptr::null_mut()));
            done = pixels - pixels % transpose::PIXELS;
            for start in (0..done).step_by(transpose::PIXELS) {
                let block = tile_sums[start * CHANNELS..][..transpose::PIXELS * CHANNELS].try_into().expect("16 pixels of sums");
                // SAFETY: each plane holds `h * w` values (checked by `OutputPlanes`) and this band's
                // rows are written by this call only; Isa::Avx512 runs only where AVX-512F is.
                let at = planes.map(|p| if p.is_null() { p } else { unsafe { p.add(first + start) } });
                unsafe { transpose::sums_to_planes(block, &at, &tile_bias) };
            }
        }
        for start in (done..pixels).step_by(BLOCK) {
            let block = &tile_sums[start * CHANNELS..(start + BLOCK).min(pixels) * CHANNELS];
            for (n, &dst) in channels.clone().map(|o| (o - t * CHANNELS, &out.0[o])) {
                if dst.is_null() {
                    continue;
                }
                for (p, pixel) in block.chunks_exact(CHANNELS).enumerate() {
                    // SAFETY: as above (written, never read: the plane may be uninitialised).
                    unsafe { dst.add(first + start + p).write(pixel[n] + tile_bias[n]) };
                }
            }
        }
    }
}

/// Inputs per pass over a band, in near-equal chunks: the tile's weights for them and the
/// input rows a tile reads (up to two cache lines per kernel row) fit 16 KiB, half the core's
/// L1 cache. Without the chunks both came from L2 for every tile: with the first kernel
/// (weights broadcast, 38 KiB of them per tile at 64 inputs, 5x5) `conv_speed 4 64 64 5`
/// forward went 52.7 -> 76.5 GMAC/s with them.
fn chunk_inputs(kernel: usize, inputs: usize) -> usize {
    const BUDGET: usize = 16 * 1024;
    let per_input = kernel * 128 + kernel * kernel * std::mem::size_of::<Block>();
    let most = (BUDGET / per_input).max(1);
    inputs.div_ceil(inputs.div_ceil(most))
}

/// `dst` (`rows + 2 pad` rows of [`padded_width`]) = the input rows from `first - pad` on,
/// with zeros outside the image.
fn pad_rows(g: &ConvGeometry, plane: &[f32], first: usize, dst: &mut [f32]) {
    let (w, p) = (g.width, g.pad_w);
    for (r, row) in dst.chunks_exact_mut(padded_width(g)).enumerate() {
        match (first + r).checked_sub(g.pad_h).filter(|&iy| iy < g.height) {
            Some(iy) => {
                row[..p].fill(0.0);
                row[p..p + w].copy_from_slice(&plane[iy * w..][..w]);
                row[p + w..].fill(0.0);
            }
            None => row.fill(0.0),
        }
    }
}

/// The forward of [`crate::conv::forward`] for the shapes [`kernel_for`] accepts, on `isa`'s
/// kernels: every image's `cout` planes, images and bands in parallel.
pub fn forward(g: &ConvGeometry, isa: Isa, input: &Input, weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let (n, cout) = (g.out_pixels(), g.channels_out);
    let live = input.live_channels();
    let len = g.batch * cout * n;
    let mut y = Vec::with_capacity(len);
    let weights = (!live.is_empty()).then(|| PackedWeights::forward(g, weight, live.clone()));
    // each image's planes written on the thread that computes them, without zeros first
    // (see crate::zeroed for why not `vec![0.0; len]`): the bias where every input is zero
    let one_image = |(b, y_b): (usize, &mut [MaybeUninit<f32>])| {
        let Some(weights) = &weights else {
            fill_rows(y_b, n, |o| bias.map_or(0.0, |bias| bias[o]));
            return;
        };
        let out = OutputPlanes::uninit(y_b.chunks_exact_mut(n).map(Some).collect(), n);
        let plane = |i: usize| input.plane(b, live.start + i);
        image(g, isa, &plane, weights, bias, &out, true);
    };
    y.spare_capacity_mut()[..len].par_chunks_exact_mut(cout * n).enumerate().for_each(one_image);
    // SAFETY: `one_image` wrote every value of every image (`image` writes each output value).
    unsafe { y.set_len(len) };
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv_input::Part;

    /// `[c, h, w]` values, each different, of both signs.
    fn ramp(len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|i| ((i * 7919 % 263) as f32 - 131.0) * scale).collect()
    }

    /// The "same" convolution summed in f64 the obvious way: `[outputs, h, w]`.
    #[allow(clippy::too_many_arguments)]
    fn reference(x: &[f32], inputs: usize, h: usize, w: usize, k: usize, outputs: usize, weight: impl Fn(usize, usize, usize, usize) -> f32, bias: &[f32]) -> Vec<f32> {
        let p = k / 2;
        let mut y = vec![0.0f32; outputs * h * w];
        for o in 0..outputs {
            for (oy, ox) in (0..h).flat_map(|oy| (0..w).map(move |ox| (oy, ox))) {
                let mut sum = bias[o] as f64;
                for (i, ky, kx) in (0..inputs).flat_map(|i| (0..k).flat_map(move |ky| (0..k).map(move |kx| (i, ky, kx)))) {
                    let (iy, ix) = ((oy + ky).wrapping_sub(p), (ox + kx).wrapping_sub(p));
                    if iy < h && ix < w {
                        sum += weight(o, i, ky, kx) as f64 * x[(i * h + iy) * w + ix] as f64;
                    }
                }
                y[(o * h + oy) * w + ox] = sum as f32;
            }
        }
        y
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    /// What one variant computes for one case: forward, input gradient, weight gradient (bands
    /// in parallel), each checked against the plain sum.
    struct Computed {
        forward: Vec<f32>,
        input_gradient: Vec<f32>,
        weight_gradient: Vec<f32>,
    }

    /// Forward and input gradient against [`reference`], weight gradient against the plain
    /// sum, for one case on `isa`'s kernels.
    fn compute_and_check(isa: Isa, (k, cin, cout, h, w): (usize, usize, usize, usize, usize)) -> Computed {
        let g = ConvGeometry::new([1, cin, h, w], [cout, cin, k, k], [k / 2, k / 2]).expect("a same convolution");
        assert!(fits(&g), "{g:?}");
        let x = ramp(cin * h * w, 0.01);
        let weight = ramp(cout * cin * k * k, 0.003);
        let bias = ramp(cout, 0.1);
        let w_at = |o: usize, i: usize, ky: usize, kx: usize| weight[((o * cin + i) * k + ky) * k + kx];
        // two parts joined along channels: the first channel alone, the rest
        let parts = vec![Part { values: &x[..h * w], channels: 1 }, Part { values: &x[h * w..], channels: cin - 1 }];
        let input = Input::new(parts, 1, h * w);
        let ours = forward(&g, isa, &input, &weight, Some(&bias));
        let expected = reference(&x, cin, h, w, k, cout, w_at, &bias);
        let d = max_diff(&ours, &expected);
        assert!(d < 1e-4, "{isa:?} forward k{k} {cin}->{cout} {h}x{w}: differs by {d}");

        // dx = conv(dy, W turned), for the channels from 1 on
        let dy = ramp(cout * h * w, 0.02);
        let graded = 1..cin;
        let packed = PackedWeights::input_gradient(&g, &weight, graded.clone());
        let mut dx = vec![f32::NAN; graded.len() * h * w];
        let out = OutputPlanes::new(dx.chunks_exact_mut(h * w).map(Some).collect(), h * w);
        image(&g, isa, &|o| &dy[o * h * w..][..h * w], &packed, None, &out, true);
        let turned = |o: usize, i: usize, ky: usize, kx: usize| w_at(i, graded.start + o, k - 1 - ky, k - 1 - kx);
        let expected = reference(&dy, cout, h, w, k, graded.len(), turned, &vec![0.0; graded.len()]);
        let d = max_diff(&dx, &expected);
        assert!(d < 1e-4, "{isa:?} input gradient k{k} {cin}->{cout} {h}x{w}: differs by {d}");

        // dW^T[i][tap][o] = Σ_p dy[o][p] x[i][p + shift], added to what is there; bands in
        // parallel and not, the same sums either way
        let mut by_threads = Vec::new();
        for parallel in [false, true] {
            let mut dw_t = vec![1.0f32; cin * k * k * cout];
            add_weight_gradient(&g, isa, &|i| &x[i * h * w..][..h * w], cin, &dy, &mut dw_t, parallel);
            // error relative to the sum of the terms' magnitudes: an f32 sum of thousands of
            // products rounds by a few units of that (a wrong or missing term moves it by its
            // own size, far more)
            let mut worst = 0.0f64;
            for (i, ky, kx, o) in (0..cin).flat_map(|i| (0..k * k).flat_map(move |t| (0..cout).map(move |o| (i, t / k, t % k, o)))) {
                let (mut sum, mut magnitude) = (1.0f64, 1.0f64);
                for (oy, ox) in (0..h).flat_map(|oy| (0..w).map(move |ox| (oy, ox))) {
                    let (iy, ix) = ((oy + ky).wrapping_sub(k / 2), (ox + kx).wrapping_sub(k / 2));
                    if iy < h && ix < w {
                        let term = dy[(o * h + oy) * w + ox] as f64 * x[(i * h + iy) * w + ix] as f64;
                        sum += term;
                        magnitude += term.abs();
                    }
                }
                worst = worst.max((dw_t[((i * k + ky) * k + kx) * cout + o] as f64 - sum).abs() / magnitude);
            }
            assert!(worst < 2e-6, "{isa:?} weight gradient k{k} {cin}->{cout} {h}x{w} (parallel {parallel}): differs by {worst} of the terms' magnitude");
            by_threads.push(dw_t);
        }
        assert!(by_threads[0] == by_threads[1] || bands(&g, cin).len() > 1, "one band, yet the threads changed the sums");
        Computed { forward: ours, input_gradient: dx, weight_gradient: by_threads.pop().unwrap() }
    }

    /// Cases at widths that are and are not whole vectors or tiles, more inputs than one pass
    /// takes, outputs that do not fill the last tile, and bands of one row.
    /// (3x3 at 32 and 40 outputs: a pair of tiles, and a pair and one tile left over.)
    const CASES: [(usize, usize, usize, usize, usize); 8] = [
        (3, 5, 7, 9, 8),
        (5, 40, 13, 6, 12),
        (3, 70, 32, 4, 20),
        (5, 3, 6, 17, 16),
        (5, 2, 1, 1, 9),
        (3, 64, 8, 40, 64),
        (5, 4, 17, 5, 37),
        (3, 6, 40, 5, 11),
    ];

    /// Every variant this CPU runs matches the plain sums, and where it runs both, the AVX2 and
    /// AVX-512 kernels agree bit for bit (they sum in the same order: the arithmetic classes
    /// differ only elsewhere).
    #[test]
    fn direct_convolution_matches_the_plain_sum() {
        let isas = Isa::runnable();
        if isas.is_empty() {
            eprintln!("SKIPPED direct_convolution_matches_the_plain_sum: this CPU lacks AVX2 + FMA");
            return;
        }
        if !isas.contains(&Isa::Avx512) {
            eprintln!("SKIPPED the AVX-512 half of direct_convolution_matches_the_plain_sum: this CPU lacks AVX-512F");
        }
        assert!(CASES.iter().any(|&(k, cin, cout, h, w)| {
            bands(&ConvGeometry::new([1, cin, h, w], [cout, cin, k, k], [k / 2, k / 2]).unwrap(), cin).len() > 1
        }), "no case has more than one band");
        for case in CASES {
            let computed: Vec<Computed> = isas.iter().map(|&isa| compute_and_check(isa, case)).collect();
            if let [avx2, avx512] = &computed[..] {
                assert!(avx2.forward == avx512.forward, "{case:?}: the AVX2 and AVX-512 forwards differ");
                assert!(avx2.input_gradient == avx512.input_gradient, "{case:?}: the input gradients differ");
                assert!(avx2.weight_gradient == avx512.weight_gradient, "{case:?}: the weight gradients differ");
            }
        }
    }

    #[test]
    fn only_same_convolutions_of_three_and_five_fit() {
        let fit = |x: [usize; 4], wt: [usize; 4], pad: [usize; 2]| fits(&ConvGeometry::new(x, wt, pad).unwrap());
        assert!(fit([1, 2, 8, 8], [4, 2, 5, 5], [2, 2]));
        assert!(!fit([1, 2, 8, 8], [4, 2, 5, 5], [1, 1]), "a valid-ish padding");
        assert!(!fit([1, 2, 8, 8], [4, 2, 7, 7], [3, 3]), "a 7x7 kernel");
        assert!(!fit([1, 2, 8, 8], [4, 2, 1, 1], [0, 0]), "a pointwise kernel");
        assert!(!fit([1, 2, 8, 4], [4, 2, 3, 3], [1, 1]), "narrower than a vector");
    }
}

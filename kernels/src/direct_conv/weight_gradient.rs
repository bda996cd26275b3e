//! The weight gradient of a direct "same" convolution: `dW[o][i][tap] = Σ_p dy[o][p] ·
//! x[i][p + shift(tap)]`, read from the same zero-padded bands as the forward.
//!
//! With im2col it was the slowest of the three products on an AVX2 machine: about 19
//! GMAC/s on one core at `conv_speed 1 32 64 5` against 28 for the direct forward, as the
//! patch matrix is written, packed and read again. Here, as in the forward's [`super::tile`],
//! sixteen output channels are the vectors (the band's `dy` in blocks of sixteen channels
//! per pixel) and the input is broadcast: sixteen channels times five taps (AVX2: ten
//! vectors) or up to three whole kernel rows (AVX-512: up to 15 vectors, each row's inputs
//! carried from pixel to pixel; at 3x3 two tiles of channels at once) keep their sums in
//! registers over every pixel of a band, then add them to the gradient once. (A first
//! version with pixels in the vectors needed a sum across lanes per channel and tap of each
//! band, and a third of its input loads crossed a cache line: 28% of a TMS-LSTM paper step
//! against the forward's and input gradient's 54% for twice the work.)

use std::ops::Range;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use rayon::prelude::*;

use super::tile::{Block, CHANNELS};
use super::{Isa, SCRATCH, bands, pad_rows, padded_width, transpose};
use crate::conv::{ConvGeometry, at_least};


/// Adds one image's weight gradient over its input channels (`input_plane(i)`, `inputs` of
/// them) to `weight_t`, laid out `[input][ky][kx][cout]` (the transposed layout
/// [`crate::conv`] sums images in), on `isa`'s kernel. Bands in parallel when `parallel`,
/// their sums added in band order: the result does not depend on the threads.
pub fn add_weight_gradient<'a>(
    g: &ConvGeometry,
    isa: Isa,
    input_plane: &(dyn Fn(usize) -> &'a [f32] + Sync),
    inputs: usize,
    dy: &[f32],
    weight_t: &mut [f32],
    parallel: bool,
) {
    let taps = g.kernel_h * g.kernel_w;
    assert!(super::fits(g) && dy.len() == g.channels_out * g.out_pixels(), "weight gradient of an unsupported shape: {g:?}");
    assert!(weight_t.len() >= inputs * taps * g.channels_out, "weight gradient buffer too short");
    let bands = bands(g, inputs);
    if parallel && bands.len() > 1 {
        let sums: Vec<Vec<f32>> = bands
            .into_par_iter()
            .map(|rows| {
                let mut sums = vec![0.0; inputs * taps * g.channels_out];
                band(g, isa, input_plane, inputs, dy, rows, &mut sums);
                sums
            })
            .collect();
        for band_sums in sums {
            weight_t.iter_mut().zip(band_sums).for_each(|(w, s)| *w += s);
        }
    } else {
        for rows in bands {
            band(g, isa, input_plane, inputs, dy, rows, weight_t);
        }
    }
}

/// Adds the band of output rows `rows` to `weight_t`.
#[allow(clippy::too_many_arguments)]
fn band<'a>(g: &ConvGeometry, isa: Isa, input_plane: &(dyn Fn(usize) -> &'a [f32] + Sync), inputs: usize, dy: &[f32], rows: Range<usize>, weight_t: &mut [f32]) {
    let stride = padded_width(g);
    let plane = (rows.len() + 2 * g.pad_h) * stride;
    let (cout, k, pixels) = (g.channels_out, g.kernel_h, rows.len() * g.width);
    SCRATCH.with(|scratch| {
        let scratch = &mut *scratch.borrow_mut();
        let padded = at_least(&mut scratch.padded, inputs * plane);
        for (i, dst) in padded.chunks_exact_mut(plane).enumerate() {
            pad_rows(g, input_plane(i), rows.start, dst);
        }
        let blocks = gradient_blocks(g, isa, dy, &rows, &mut scratch.gradient_blocks);
        let passes = isa.gradient_passes(k);
        let shape = Shape { rows: rows.len(), width: g.width, stride, kernel: k };
        let mut buffer = [[0.0; CHANNELS]; 25];
        // input by input: that input's rows of the gradient (`k k cout` values) stay in
        // cache while every tile adds to them (the whole gradient, 800 KiB at 64 inputs,
        // 5x5 and 128 outputs, does not fit L2: tile-major order spent 5% on the adds)
        let tiles: Vec<&[Block]> = blocks.chunks_exact(pixels).collect();
        for (i, x) in padded.chunks_exact(plane).enumerate() {
            // adds tile `t`'s sums of `taps` to input `i`'s rows of the gradient
            let mut add = |t: usize, taps: Range<usize>, sums: &[[f32; CHANNELS]]| {
                let channels = t * CHANNELS..((t + 1) * CHANNELS).min(cout);
                for (tap, tap_sums) in taps.zip(sums) {
                    let dst = &mut weight_t[(i * k * k + tap) * cout..][channels.clone()];
                    dst.iter_mut().zip(tap_sums).for_each(|(d, s)| *d += s);
                }
            };
            let mut t = 0;
            while t < tiles.len() {
                let together = if isa.pairs_gradient_tiles(k) && t + 1 < tiles.len() { 2 } else { 1 };
                let group = &tiles[t..t + together];
                for taps in &passes {
                    let sums = &mut buffer[..together * taps.len()];
                    pass(isa, x, group, &shape, taps.clone(), sums);
                    for (j, tile_sums) in sums.chunks_exact(taps.len()).enumerate() {
                        add(t + j, taps.clone(), tile_sums);
                    }
                }
                t += together;
            }
        }
    });
}

/// The band's `dy` as `[tile][pixel]` blocks of [`CHANNELS`] channels, zero past the last: on
/// AVX-512 sixteen pixels at a time transposed in registers, the rest value by value.
fn gradient_blocks<'b>(g: &ConvGeometry, isa: Isa, dy: &[f32], rows: &Range<usize>, buffer: &'b mut Vec<Block>) -> &'b [Block] {
    let (n, cout, pixels) = (g.out_pixels(), g.channels_out, rows.len() * g.width);
    let tiles = cout.div_ceil(CHANNELS);
    buffer.resize(buffer.len().max(tiles * pixels), Block::default());
    let blocks = &mut buffer[..tiles * pixels];
    let first = rows.start * g.width;
    for (t, tile) in blocks.chunks_exact_mut(pixels).enumerate() {
        let channels: [Option<&[f32]>; CHANNELS] =
            std::array::from_fn(|c| (t * CHANNELS + c < cout).then(|| &dy[(t * CHANNELS + c) * n + first..][..pixels]));
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if isa == Isa::Avx512 {
            done = pixels - pixels % transpose::PIXELS;
            for (start, group) in (0..done).step_by(transpose::PIXELS).zip(tile.chunks_exact_mut(transpose::PIXELS)) {
                let planes = channels.map(|c| c.map(|c| &c[start..]));
                // SAFETY: Isa::Avx512 runs only where AVX-512F is.
                unsafe { transpose::planes_to_blocks(&planes, group.try_into().expect("16 blocks")) };
            }
        }
        // pixel by pixel, each block written once (sixteen reading streams, one writing)
        for (p, block) in tile.iter_mut().enumerate().skip(done) {
            for (value, channel) in block.0.iter_mut().zip(&channels) {
                *value = channel.map_or(0.0, |c| c[p]);
            }
        }
    }
    blocks
}

/// A band's pixels: `rows` rows of `width`, in padded rows of `stride`; the kernel's size.
struct Shape {
    rows: usize,
    width: usize,
    stride: usize,
    kernel: usize,
}

impl Shape {
    /// Where tap `t`'s input starts in the padded band.
    fn offset(&self, tap: usize) -> usize {
        (tap / self.kernel) * self.stride + tap % self.kernel
    }
}

/// `sums[j * taps.len() + n] = Σ_p tiles[j][p] · x[p + offset(taps[n])]`, one block per tile
/// and tap, on `isa`'s kernel (one tile, or two where [`Isa::pairs_gradient_tiles`]).
fn pass(isa: Isa, x: &[f32], tiles: &[&[Block]], shape: &Shape, taps: Range<usize>, sums: &mut [[f32; CHANNELS]]) {
    let k = shape.kernel;
    let reach = (shape.rows - 1) * shape.stride + shape.width + shape.offset(taps.end - 1);
    assert!(reach <= x.len() && tiles.iter().all(|b| b.len() == shape.rows * shape.width), "a pass outside its band");
    assert!(tiles.len() * taps.len() == sums.len() && taps.end <= k * k, "{taps:?}: taps past the kernel or sums of another length");
    assert!(tiles.len() == 1 || isa.pairs_gradient_tiles(k), "{} tiles in one pass on {isa:?} at {k}x{k}", tiles.len());
    isa.assert_runnable();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the instructions were checked just above; every load lies inside `x` or
    // `blocks` (checked before).
    unsafe {
        match isa {
            Isa::Avx2 => {
                let mut offsets = [0; 5];
                assert!(taps.len() <= offsets.len(), "{} taps in an AVX2 pass", taps.len());
                offsets.iter_mut().zip(taps.clone()).for_each(|(o, t)| *o = shape.offset(t));
                let blocks = tiles[0];
                match taps.len() {
                    1 => pass_avx2::<1>(x, blocks, shape, &offsets, sums),
                    2 => pass_avx2::<2>(x, blocks, shape, &offsets, sums),
                    3 => pass_avx2::<3>(x, blocks, shape, &offsets, sums),
                    4 => pass_avx2::<4>(x, blocks, shape, &offsets, sums),
                    _ => pass_avx2::<5>(x, blocks, shape, &offsets, sums),
                }
            }
            Isa::Avx512 => {
                assert!(taps.start.is_multiple_of(k) && taps.end.is_multiple_of(k), "an AVX-512 pass takes whole kernel rows, not {taps:?}");
                let first_row = taps.start / k;
                match (k, taps.len() / k, tiles) {
                    (3, 3, &[a]) => pass_avx512::<3, 3, 1>(x, [a], shape, first_row, sums),
                    (3, 3, &[a, b]) => pass_avx512::<3, 3, 2>(x, [a, b], shape, first_row, sums),
                    (5, 3, &[a]) => pass_avx512::<5, 3, 1>(x, [a], shape, first_row, sums),
                    (5, 2, &[a]) => pass_avx512::<5, 2, 1>(x, [a], shape, first_row, sums),
                    (k, rows, _) => unreachable!("{rows} rows of a {k}x{k} kernel for {} tiles in one pass", tiles.len()),
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("the direct convolution runs on x86-64 only");
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // the sums are indexed by tap and vector together
unsafe fn pass_avx2<const T: usize>(x: &[f32], blocks: &[Block], shape: &Shape, offsets: &[usize; 5], sums: &mut [[f32; CHANNELS]]) {
    let offsets: [usize; T] = std::array::from_fn(|t| offsets[t]);
    let mut acc = [[_mm256_setzero_ps(); 2]; T];
    for r in 0..shape.rows {
        // SAFETY (pointer arithmetic): inside `x` and `blocks`, see `pass`.
        let xr = unsafe { x.as_ptr().add(r * shape.stride) };
        let dr = unsafe { blocks.as_ptr().add(r * shape.width) } as *const f32;
        for c in 0..shape.width {
            // aligned: a Block is one 64-byte line
            let (d0, d1) = unsafe { (_mm256_load_ps(dr.add(c * CHANNELS)), _mm256_load_ps(dr.add(c * CHANNELS + 8))) };
            for t in 0..T {
                let b = unsafe { _mm256_broadcast_ss(&*xr.add(c + offsets[t])) };
                acc[t][0] = _mm256_fmadd_ps(d0, b, acc[t][0]);
                acc[t][1] = _mm256_fmadd_ps(d1, b, acc[t][1]);
            }
        }
    }
    for t in 0..T {
        unsafe {
            _mm256_storeu_ps(sums[t].as_mut_ptr(), acc[t][0]);
            _mm256_storeu_ps(sums[t].as_mut_ptr().add(8), acc[t][1]);
        }
    }
}

/// `ROWS` kernel rows from `first_row` on, every tap of each, for `TILES` tiles of channels:
/// `TILES * ROWS * K` sums, one gradient vector per tile and pixel and one input broadcast per
/// kernel row, the row's other `K - 1` inputs carried over from the pixel before (the input
/// at column `c + K - 1` is tap `kx`'s at `c + K - 1 - kx`). Broadcasting every tap's input
/// instead (`K * K + 1` loads per `K * K` multiply-adds) was load-bound on an AVX-512 Xeon
/// with two 512-bit multiply-add ports: a C model of the 3x3 pass on one core ran at 78-80
/// GMAC/s that way, at 108-110 with the inputs carried and two tiles (FMA peak 117). Per lane
/// the same multiply-adds in the same order as [`pass_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::needless_range_loop)] // the sums are indexed by tile, kernel row and tap together
unsafe fn pass_avx512<const K: usize, const ROWS: usize, const TILES: usize>(
    x: &[f32],
    tiles: [&[Block]; TILES],
    shape: &Shape,
    first_row: usize,
    sums: &mut [[f32; CHANNELS]],
) {
    let mut acc = [[[_mm512_setzero_ps(); K]; ROWS]; TILES];
    for r in 0..shape.rows {
        // SAFETY (pointer arithmetic and loads): inside `x` and `tiles`, see `pass`.
        let rows: [*const f32; ROWS] = std::array::from_fn(|n| unsafe { x.as_ptr().add((r + first_row + n) * shape.stride) });
        let dr = tiles.map(|b| unsafe { b.as_ptr().add(r * shape.width) } as *const f32);
        let mut carried: [[__m512; K]; ROWS] =
            std::array::from_fn(|n| std::array::from_fn(|kx| if kx + 1 < K { _mm512_set1_ps(unsafe { *rows[n].add(kx) }) } else { _mm512_setzero_ps() }));
        for c in 0..shape.width {
            // aligned: a Block is one 64-byte line
            let d: [__m512; TILES] = std::array::from_fn(|j| unsafe { _mm512_load_ps(dr[j].add(c * CHANNELS)) });
            for n in 0..ROWS {
                carried[n][K - 1] = _mm512_set1_ps(unsafe { *rows[n].add(c + K - 1) });
                for kx in 0..K {
                    for j in 0..TILES {
                        acc[j][n][kx] = _mm512_fmadd_ps(d[j], carried[n][kx], acc[j][n][kx]);
                    }
                }
                for kx in 1..K {
                    carried[n][kx - 1] = carried[n][kx];
                }
            }
        }
    }
    for j in 0..TILES {
        for n in 0..ROWS {
            for kx in 0..K {
                unsafe { _mm512_storeu_ps(sums[(j * ROWS + n) * K + kx].as_mut_ptr(), acc[j][n][kx]) };
            }
        }
    }
}

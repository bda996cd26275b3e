//! Stride-1 convolution of NCHW f32 images as im2col + one matrix product per image.
//!
//! Forward:  `y_b = W · col(x_b) + bias`  (`[cout, K] x [K, N]`, `K = cin kh kw`, `N = oh ow`)
//! Backward: `dW = Σ_b dy_b · col(x_b)^T`, `dbias = Σ_b Σ_n dy_b`, `dx_b = col^T(W^T · dy_b)`.
//! The three products have the forward's MAC count each, and all are row-major with no
//! strided scatter, so they run at the `gemm` crate's matrix-product rate. On the "avx2" and
//! "avx512" arithmetic classes the 3x3 and 5x5 "same" convolutions take the direct kernels of
//! [`crate::direct_conv`] instead, all three products without a patch matrix.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ops::Range;

use gemm::Parallelism;
use rayon::prelude::*;

use crate::conv_input::{Input, span_of};
use crate::direct_conv::{self, Isa, OutputPlanes, PackedWeights};
use crate::im2col::{col2im, im2col};

/// Shapes of one stride-1, dilation-1, single-group convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub batch: usize,
    pub channels_in: usize,
    pub height: usize,
    pub width: usize,
    pub channels_out: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub pad_h: usize,
    pub pad_w: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl ConvGeometry {
    /// `None` when the kernel does not fit the padded image.
    pub fn new(x: [usize; 4], weight: [usize; 4], padding: [usize; 2]) -> Option<Self> {
        let [batch, channels_in, height, width] = x;
        let [channels_out, cin_w, kernel_h, kernel_w] = weight;
        let out_h = (height + 2 * padding[0] + 1).checked_sub(kernel_h)?;
        let out_w = (width + 2 * padding[1] + 1).checked_sub(kernel_w)?;
        (cin_w == channels_in && out_h > 0 && out_w > 0).then_some(Self {
            batch,
            channels_in,
            height,
            width,
            channels_out,
            kernel_h,
            kernel_w,
            pad_h: padding[0],
            pad_w: padding[1],
            out_h,
            out_w,
        })
    }

    /// Rows of the patch matrix: `cin kh kw`.
    pub fn patch_len(&self) -> usize {
        self.channels_in * self.kernel_h * self.kernel_w
    }

    /// Output pixels per image.
    pub fn out_pixels(&self) -> usize {
        self.out_h * self.out_w
    }

    fn out_image(&self) -> usize {
        self.channels_out * self.out_pixels()
    }

    /// A 1x1 kernel without padding: the image already is its patch matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel_h == 1 && self.kernel_w == 1 && self.pad_h == 0 && self.pad_w == 0
    }

    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.channels_out, self.out_h, self.out_w]
    }
}

/// How the images of a batch share the cores: one image per thread when there are enough,
/// else one image at a time with the matrix product itself parallel.
fn split(g: &ConvGeometry) -> (bool, Parallelism) {
    let threads = rayon::current_num_threads();
    if g.batch >= threads || threads == 1 {
        (true, Parallelism::None)
    } else {
        (false, Parallelism::Rayon(threads))
    }
}

/// Output rows per tile for a patch matrix of `depth` rows: the tile's matrix
/// (`depth x rows * out_w`) stays within about 512 KiB, so it is still in the core's L2
/// cache when the product reads it. A whole image's matrix is 4.7 MB at the paper's 64x64
/// with 32 channels (13 MB for a 5x5 kernel).
///
/// A tile is never narrower than 512 output pixels: the weight-gradient product reduces
/// over the tile's pixels, and gemm runs it at a quarter of its rate when they are few
/// (kernels/examples/gemm_probe.rs 128 800 128: 20 GMAC/s; 128 800 512: 82).
fn tile_rows(g: &ConvGeometry, depth: usize) -> usize {
    const TILE_FLOATS: usize = 128 * 1024;
    const MIN_TILE_PIXELS: usize = 512;
    (TILE_FLOATS / (depth.max(1) * g.out_w))
        .max(MIN_TILE_PIXELS.div_ceil(g.out_w))
        .clamp(1, g.out_h)
}

/// The output-row ranges of one image's tiles, of near-equal heights (no thin last tile:
/// a product over few pixels runs slowly, see [`tile_rows`]).
fn tiles(g: &ConvGeometry, depth: usize) -> impl Iterator<Item = Range<usize>> {
    let step = g.out_h.div_ceil(g.out_h.div_ceil(tile_rows(g, depth)));
    (0..g.out_h).step_by(step).map(move |r| r..(r + step).min(g.out_h))
}

/// The patch matrix of joined channels `channels`, output rows `rows`, of image `b`:
/// borrowed for a pointwise kernel over channels of one part, else built in `scratch`. Row
/// stride of the result: `rows.len() * out_w`, or `out_pixels` when borrowed (returned as
/// the second value).
fn patches<'a>(
    g: &ConvGeometry,
    input: &Input<'a>,
    b: usize,
    channels: Range<usize>,
    rows: Range<usize>,
    scratch: &'a mut Vec<f32>,
) -> (&'a [f32], usize) {
    if g.is_pointwise()
        && let Some(image) = input.contiguous(b, channels.clone())
    {
        return (&image[rows.start * g.out_w..], g.out_pixels());
    }
    let col = at_least(scratch, channels.len() * g.kernel_h * g.kernel_w * rows.len() * g.out_w);
    im2col(g, input, b, channels, rows.clone(), col);
    (col, rows.len() * g.out_w)
}

/// `dst (m x n, row stride given) (+)= lhs · rhs` with explicit (column, row) strides of the
/// operands.
fn product(
    [m, n, k]: [usize; 3],
    (dst, dst_row_stride): (&mut [f32], usize),
    accumulate: bool,
    lhs: (&[f32], isize, isize),
    rhs: (&[f32], isize, isize),
    parallelism: Parallelism,
) {
    assert!(n <= dst_row_stride && dst.len() >= (m - 1) * dst_row_stride + n, "gemm destination too small");
    // SAFETY: dst covers the m x n view its row stride describes (checked above); the callers
    // pass operand slices that cover the m x k and k x n views their strides describe.
    unsafe {
        gemm::gemm(
            m, n, k,
            dst.as_mut_ptr(), 1, dst_row_stride as isize, accumulate,
            lhs.0.as_ptr(), lhs.1, lhs.2,
            rhs.0.as_ptr(), rhs.1, rhs.2,
            1.0, 1.0, false, false, false,
            parallelism,
        );
    }
}

/// Sets every value of `buffer` and hands it back initialised: row `r` (of `row_len`
/// values) to `row_value(r)`. Output buffers are filled here, on the thread that uses them
/// next, rather than zeroed by the allocator on one thread first.
pub(crate) fn fill_rows(buffer: &mut [MaybeUninit<f32>], row_len: usize, row_value: impl Fn(usize) -> f32) -> &mut [f32] {
    for (r, row) in buffer.chunks_mut(row_len).enumerate() {
        let v = row_value(r);
        row.iter_mut().for_each(|x| {
            x.write(v);
        });
    }
    // SAFETY: every element was written just above; MaybeUninit<f32> has f32's layout.
    unsafe { &mut *(buffer as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// `sums[c] += rows[c].iter().sum()` for the `n`-long rows `rows[c * n..][..n]`: the bias
/// gradient. Each row's sum keeps its order (one chain from the first value on, as
/// `Iterator::sum`), so the values are the same to the bit; sixteen rows' chains are run side
/// by side, which the single chain's add latency left about eight times slower (one row after
/// another it was about 2% of a ConvLSTM training step at the paper's size).
fn add_row_sums(sums: &mut [f32], rows: &[f32], n: usize) {
    const SIDE_BY_SIDE: usize = 16;
    let mut sums = sums.chunks_exact_mut(SIDE_BY_SIDE);
    let mut blocks = rows.chunks_exact(SIDE_BY_SIDE * n);
    for (sums, block) in (&mut sums).zip(&mut blocks) {
        let rows: [&[f32]; SIDE_BY_SIDE] = std::array::from_fn(|c| &block[c * n..][..n]);
        let mut chains = [-0.0f32; SIDE_BY_SIDE];
        for p in 0..n {
            for c in 0..SIDE_BY_SIDE {
                chains[c] += rows[c][p];
            }
        }
        sums.iter_mut().zip(chains).for_each(|(s, chain)| *s += chain);
    }
    for (s, row) in sums.into_remainder().iter_mut().zip(blocks.remainder().chunks_exact(n)) {
        *s += row.iter().sum::<f32>();
    }
}

/// `y = conv(input, weight) + bias`, NCHW in and out; `weight` is `[cout, cin, kh, kw]` over
/// the input's joined channels.
pub fn forward(g: &ConvGeometry, input: &Input, weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    if let Some(isa) = direct_conv::kernel_for(g) {
        return direct_conv::forward(g, isa, input, weight, bias);
    }
    let (k, n, cout) = (g.patch_len(), g.out_pixels(), g.channels_out);
    let taps = g.kernel_h * g.kernel_w;
    let live = input.live_channels();
    let (live_k, live_weight) = (live.len() * taps, &weight[live.start * taps..]);
    let len = g.batch * g.out_image();
    let mut y = Vec::with_capacity(len);
    let (per_thread, parallelism) = split(g);
    let one_image = |(b, out): (usize, &mut [MaybeUninit<f32>])| {
        let out = fill_rows(out, n, |r| bias.map_or(0.0, |bias| bias[r]));
        if live_k == 0 {
            return; // every input is zero: the output is the bias
        }
        let mut scratch = take_buffer(Buffer::Patches);
        for rows in tiles(g, live_k) {
            let width = rows.len() * g.out_w;
            let (col, col_stride) = patches(g, input, b, live.clone(), rows.clone(), &mut scratch);
            // y[:, tile] (cout x width, row stride N) += W[:, live] (cout x K') · col (K' x width)
            product(
                [cout, width, live_k],
                (&mut out[rows.start * g.out_w..], n),
                true,
                (live_weight, 1, k as isize),
                (col, 1, col_stride as isize),
                parallelism,
            );
        }
        give_back(Buffer::Patches, scratch);
    };
    let spare = &mut y.spare_capacity_mut()[..len];
    if per_thread {
        spare.par_chunks_exact_mut(g.out_image()).enumerate().for_each(one_image);
    } else {
        spare.chunks_exact_mut(g.out_image()).enumerate().for_each(one_image);
    }
    // SAFETY: `one_image` initialised every chunk of the first `len` values.
    unsafe { y.set_len(len) };
    y
}

/// Which gradients the caller needs: of each input part, the weight, the bias.
#[derive(Clone, Debug)]
pub struct Wanted {
    pub x: Vec<bool>,
    pub weight: bool,
    pub bias: bool,
}

/// The gradients of one convolution; `None` where not wanted.
#[derive(Debug, Default)]
pub struct ConvGradients {
    /// One per input part.
    pub x: Vec<Option<Vec<f32>>>,
    pub weight: Option<Vec<f32>>,
    pub bias: Option<Vec<f32>>,
}

/// Weight (transposed, `[K, cout]`) and bias gradients summed over the images one thread
/// handled.
struct Partial {
    weight_t: Vec<f32>,
    bias: Vec<f32>,
}

impl Partial {
    fn zeros(g: &ConvGeometry) -> Self {
        Self { weight_t: vec![0.0; g.channels_out * g.patch_len()], bias: vec![0.0; g.channels_out] }
    }

    fn add(mut self, other: Partial) -> Partial {
        self.weight_t.iter_mut().zip(&other.weight_t).for_each(|(a, b)| *a += b);
        self.bias.iter_mut().zip(&other.bias).for_each(|(a, b)| *a += b);
        self
    }
}

/// One image's input-gradient buffers, one per part (`None` where not wanted), not yet set.
type ImageGradients<'a> = Vec<Option<&'a mut [MaybeUninit<f32>]>>;

/// The per-image views of the parts' gradient buffers.
fn image_gradients<'a>(g: &ConvGeometry, input: &Input, dx: &'a mut [Option<Vec<f32>>]) -> Vec<ImageGradients<'a>> {
    let mut images: Vec<ImageGradients<'a>> = (0..g.batch).map(|_| Vec::with_capacity(dx.len())).collect();
    for (part, buffer) in input.parts().iter().zip(dx.iter_mut()) {
        let image_len = part.channels * g.height * g.width;
        match buffer {
            Some(buffer) => {
                let spare = &mut buffer.spare_capacity_mut()[..g.batch * image_len];
                spare.chunks_exact_mut(image_len).zip(&mut images).for_each(|(chunk, image)| image.push(Some(chunk)));
            }
            None => images.iter_mut().for_each(|image| image.push(None)),
        }
    }
    images
}

/// Backward of [`forward`] for upstream gradient `dy` (`[batch, cout, oh, ow]`).
pub fn backward(g: &ConvGeometry, input: &Input, weight: &[f32], dy: &[f32], wanted: &Wanted) -> ConvGradients {
    let parts = input.parts();
    let mut dx: Vec<Option<Vec<f32>>> =
        parts.iter().zip(&wanted.x).map(|(part, &w)| w.then(|| Vec::with_capacity(part.values.len()))).collect();
    let (per_thread, parallelism) = split(g);
    let graded = span_of(&input.starts(), parts, &wanted.x);
    let direct = direct_conv::kernel_for(g)
        .map(|isa| Direct { isa, dx: (!graded.is_empty()).then(|| PackedWeights::input_gradient(g, weight, graded)) });
    let one_image = |partial: Partial, (b, dx_b): (usize, ImageGradients)| match &direct {
        Some(direct) => direct_image_backward(g, input, direct, dy, (b, dx_b), wanted, partial, parallelism),
        None => image_backward(g, input, weight, dy, b, dx_b, wanted, partial, parallelism),
    };
    let images: Vec<(usize, ImageGradients)> = image_gradients(g, input, &mut dx).into_iter().enumerate().collect();
    let sums = if per_thread {
        // Fixed runs of images, summed in order: the weight gradient's rounding must not
        // depend on which thread stole which image (ci-regress compares trained runs to
        // 0.5%, and training amplifies a last-bit difference to a few percent).
        let run = g.batch.div_ceil(rayon::current_num_threads()).max(1);
        let partials: Vec<Partial> = images.into_par_iter().chunks(run).map(|run| run.into_iter().fold(Partial::zeros(g), one_image)).collect();
        partials.into_iter().reduce(Partial::add).unwrap_or_else(|| Partial::zeros(g))
    } else {
        images.into_iter().fold(Partial::zeros(g), one_image)
    };
    for (buffer, part) in dx.iter_mut().zip(parts) {
        if let Some(buffer) = buffer {
            // SAFETY: `image_backward` set every image's gradient of this part.
            unsafe { buffer.set_len(part.values.len()) };
        }
    }
    ConvGradients {
        x: dx,
        weight: wanted.weight.then(|| transpose(&sums.weight_t, g.patch_len(), g.channels_out)),
        bias: wanted.bias.then_some(sums.bias),
    }
}

/// `[rows, cols]` row-major -> `[cols, rows]` row-major, in 16 x 16 blocks (each block's
/// reads and writes stay within a few cache lines).
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(values.len());
    transpose_into(values, rows, cols, &mut out);
    out
}

/// [`transpose`] into the first `rows * cols` values of `out` (grown as needed).
fn transpose_into(values: &[f32], rows: usize, cols: usize, out: &mut Vec<f32>) {
    const BLOCK: usize = 16;
    assert_eq!(values.len(), rows * cols, "transpose: length does not match the shape");
    let out = at_least(out, values.len());
    for r0 in (0..rows).step_by(BLOCK) {
        for c0 in (0..cols).step_by(BLOCK) {
            for r in r0..(r0 + BLOCK).min(rows) {
                for c in c0..(c0 + BLOCK).min(cols) {
                    out[c * rows + r] = values[r * cols + c];
                }
            }
        }
    }
}

/// One image's share of [`backward`]: adds to `partial`, writes the image's input
/// gradients, tile by tile. Only the live channels (see [`Input`]) have a weight gradient
/// to add; only the wanted parts' channels get an input gradient.
#[allow(clippy::too_many_arguments)]
fn image_backward(
    g: &ConvGeometry,
    input: &Input,
    weight: &[f32],
    dy: &[f32],
    b: usize,
    dx_b: ImageGradients,
    wanted: &Wanted,
    mut partial: Partial,
    parallelism: Parallelism,
) -> Partial {
    let (k, n, cout, taps) = (g.patch_len(), g.out_pixels(), g.channels_out, g.kernel_h * g.kernel_w);
    let dy_b = &dy[b * g.out_image()..][..g.out_image()];
    if wanted.bias {
        add_row_sums(&mut partial.bias, dy_b, n);
    }
    let mut dx_b: Vec<Option<&mut [f32]>> = dx_b.into_iter().map(|d| d.map(|d| fill_rows(d, n, |_| 0.0))).collect();
    let live = if wanted.weight { input.live_channels() } else { 0..0 };
    let graded = span_of(&input.starts(), input.parts(), &wanted.x);
    let (mut scratch, mut dcol) = (take_buffer(Buffer::Patches), take_buffer(Buffer::PatchGradient));
    let mut dy_t = take_buffer(Buffer::PixelMajorDy);
    // dy_b pixel-major (`[N, cout]`): the weight-gradient product reads it at twice the rate
    // of the channel-major original (kernels/examples/gemm_probe.rs, `col dyT`).
    if !live.is_empty() {
        transpose_into(dy_b, cout, n, &mut dy_t);
    }
    for rows in tiles(g, live.len().max(graded.len()) * taps) {
        let (width, start) = (rows.len() * g.out_w, rows.start * g.out_w);
        let dy_tile = &dy_b[start..];
        if !live.is_empty() {
            let (col, col_stride) = patches(g, input, b, live.clone(), rows.clone(), &mut scratch);
            // dW^T[live] (K' x cout) += col (K' x width) · dy_tile^T (width x cout): about
            // three times gemm's rate of dy · col^T at these shapes.
            let dw = &mut partial.weight_t[live.start * taps * cout..];
            product([live.len() * taps, cout, width], (dw, cout), true, (col, 1, col_stride as isize), (&dy_t[start * cout..], 1, cout as isize), parallelism);
        }
        if graded.is_empty() {
            continue;
        }
        // dcol (K' x width) = W^T[graded] (K' x cout) · dy_tile (cout x width)
        let (depth, w_t) = (graded.len() * taps, &weight[graded.start * taps..]);
        let (part, local) = input.locate(graded.start);
        let within_one_part = local + graded.len() <= input.parts()[part].channels;
        if g.is_pointwise() && within_one_part {
            let dx_part = dx_b[part].as_deref_mut().expect("a graded part");
            let dst = &mut dx_part[local * n + start..];
            product([depth, width, cout], (dst, n), false, (w_t, k as isize, 1), (dy_tile, 1, n as isize), parallelism);
        } else {
            let dcol = at_least(&mut dcol, depth * width);
            product([depth, width, cout], (dcol, width), false, (w_t, k as isize, 1), (dy_tile, 1, n as isize), parallelism);
            col2im(g, input, dcol, graded.clone(), rows, &mut dx_b);
        }
    }
    give_back(Buffer::Patches, scratch);
    give_back(Buffer::PatchGradient, dcol);
    give_back(Buffer::PixelMajorDy, dy_t);
    partial
}

/// The direct kernel's share of a backward ([`direct_conv`]): its instructions, and the input
/// gradient's packed weights when an input gradient is wanted.
struct Direct {
    isa: Isa,
    dx: Option<PackedWeights>,
}

/// [`image_backward`] by the direct kernels: no patch matrix either way.
#[allow(clippy::too_many_arguments)]
fn direct_image_backward(
    g: &ConvGeometry,
    input: &Input,
    direct: &Direct,
    dy: &[f32],
    (b, dx_b): (usize, ImageGradients),
    wanted: &Wanted,
    mut partial: Partial,
    parallelism: Parallelism,
) -> Partial {
    let (n, cout, taps) = (g.out_pixels(), g.channels_out, g.kernel_h * g.kernel_w);
    let dy_b = &dy[b * g.out_image()..][..g.out_image()];
    let parallel = matches!(parallelism, Parallelism::Rayon(_));
    if wanted.bias {
        add_row_sums(&mut partial.bias, dy_b, n);
    }
    let live = if wanted.weight { input.live_channels() } else { 0..0 };
    if !live.is_empty() {
        let plane = |i: usize| input.plane(b, live.start + i);
        let dw = &mut partial.weight_t[live.start * taps * cout..];
        direct_conv::add_weight_gradient(g, direct.isa, &plane, live.len(), dy_b, dw, parallel);
    }
    let graded = direct.dx.as_ref().map(|_| span_of(&input.starts(), input.parts(), &wanted.x));
    // The input-gradient convolution writes every value of the planes it covers (as the
    // forward does): only the planes outside it get zeros.
    let mut covered = Vec::new();
    for ((part, start), dx) in input.parts().iter().zip(input.starts()).zip(dx_b) {
        let inside = graded.as_ref().is_some_and(|r| start >= r.start && start + part.channels <= r.end);
        match (inside, dx) {
            (true, Some(dx)) => covered.extend(dx.chunks_exact_mut(n).map(Some)),
            (true, None) => covered.extend((0..part.channels).map(|_| None)),
            (false, Some(dx)) => drop(fill_rows(dx, n, |_| 0.0)),
            (false, None) => {}
        }
    }
    if let Some(weights) = &direct.dx {
        let out = OutputPlanes::uninit(covered, n);
        let dy_plane = |o: usize| &dy_b[o * n..][..n];
        direct_conv::image(g, direct.isa, &dy_plane, weights, None, &out, parallel);
    }
    partial
}

/// The per-image buffers a convolution reuses, one of each per thread.
#[derive(Clone, Copy)]
enum Buffer {
    Patches = 0,
    PatchGradient = 1,
    PixelMajorDy = 2,
}

thread_local! {
    /// Kept for the thread's next convolution: a fresh buffer per image would be zeroed by
    /// the allocator first, though every value is overwritten before it is read. One per
    /// purpose, so each keeps the length of its largest use.
    static BUFFERS: RefCell<[Vec<f32>; 3]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// This thread's buffer for `purpose` (empty while another use holds it).
fn take_buffer(purpose: Buffer) -> Vec<f32> {
    BUFFERS.with(|pool| std::mem::take(&mut pool.borrow_mut()[purpose as usize]))
}

/// Returns a buffer taken with [`take_buffer`].
fn give_back(purpose: Buffer, buffer: Vec<f32>) {
    BUFFERS.with(|pool| pool.borrow_mut()[purpose as usize] = buffer);
}

/// The first `len` values of `buffer`, grown (zero-filled) only past its longest use so far:
/// every caller overwrites the values it is handed.
pub(crate) fn at_least(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}


#[cfg(test)]
mod row_sum_tests {
    use super::*;

    /// Bit for bit `Iterator::sum` per row, for row counts around the block of sixteen, and
    /// for a row of negative zeros.
    #[test]
    fn row_sums_are_iterator_sums() {
        for (rows, n) in [(1, 5), (16, 33), (35, 7), (128, 4096)] {
            let mut values: Vec<f32> = (0..rows * n).map(|k| ((k * 7919 % 1013) as f32 - 506.0) * 1.37e-3).collect();
            values[..n].fill(-0.0);
            let start: Vec<f32> = (0..rows).map(|r| r as f32 * 0.25).collect();
            let mut ours = start.clone();
            add_row_sums(&mut ours, &values, n);
            let want: Vec<f32> = start.iter().zip(values.chunks_exact(n)).map(|(s, row)| s + row.iter().sum::<f32>()).collect();
            assert_eq!(ours.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{rows} rows of {n}");
        }
    }
}

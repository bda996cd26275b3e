//! Stride-1 convolution of NCHW f32 images as im2col + one matrix product per image.
//!
//! Forward:  `y_b = W · col(x_b) + bias`  (`[cout, K] x [K, N]`, `K = cin kh kw`, `N = oh ow`)
//! Backward: `dW = Σ_b dy_b · col(x_b)^T`, `dbias = Σ_b Σ_n dy_b`, `dx_b = col^T(W^T · dy_b)`.
//! The three products have the forward's MAC count each, and all are row-major with no
//! strided scatter, so they run at the `gemm` crate's matrix-product rate.

use std::ops::Range;

use gemm::Parallelism;
use rayon::prelude::*;

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

    fn in_image(&self) -> usize {
        self.channels_in * self.height * self.width
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

/// Output rows per tile: the tile's patch matrix (`K x rows * out_w`) stays within about
/// 512 KiB, so it is still in the core's L2 cache when the product reads it. A whole image's
/// matrix is 4.7 MB at the paper's 64x64 with 32 channels (13 MB for a 5x5 kernel).
///
/// A tile is never narrower than 512 output pixels: the weight-gradient product reduces
/// over the tile's pixels, and gemm runs it at a quarter of its rate when they are few
/// (kernels/examples/gemm_probe.rs 128 800 128: 20 GMAC/s; 128 800 512: 82).
fn tile_rows(g: &ConvGeometry) -> usize {
    const TILE_FLOATS: usize = 128 * 1024;
    const MIN_TILE_PIXELS: usize = 512;
    (TILE_FLOATS / (g.patch_len() * g.out_w))
        .max(MIN_TILE_PIXELS.div_ceil(g.out_w))
        .clamp(1, g.out_h)
}

/// The output-row ranges of one image's tiles.
fn tiles(g: &ConvGeometry) -> impl Iterator<Item = Range<usize>> {
    let step = tile_rows(g);
    (0..g.out_h).step_by(step).map(move |r| r..(r + step).min(g.out_h))
}

/// The patch matrix of rows `rows` of image `b`: borrowed for a pointwise kernel, else
/// built in `scratch`. Row stride of the result: `rows.len() * out_w`, or `out_pixels` when
/// borrowed (returned as the second value).
fn patches<'a>(g: &ConvGeometry, x: &'a [f32], b: usize, rows: Range<usize>, scratch: &'a mut Vec<f32>) -> (&'a [f32], usize) {
    let image = &x[b * g.in_image()..][..g.in_image()];
    if g.is_pointwise() {
        return (&image[rows.start * g.out_w..], g.out_pixels());
    }
    scratch.resize(g.patch_len() * rows.len() * g.out_w, 0.0);
    im2col(g, image, rows.clone(), scratch);
    (scratch, rows.len() * g.out_w)
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

/// `y = conv(x, weight) + bias`, NCHW in and out.
pub fn forward(g: &ConvGeometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let (k, n, cout) = (g.patch_len(), g.out_pixels(), g.channels_out);
    let mut y = vec![0.0f32; g.batch * g.out_image()];
    let (per_thread, parallelism) = split(g);
    let one_image = |(b, out): (usize, &mut [f32])| {
        if let Some(bias) = bias {
            out.chunks_exact_mut(n).zip(bias).for_each(|(row, &v)| row.fill(v));
        }
        let mut scratch = Vec::new();
        for rows in tiles(g) {
            let width = rows.len() * g.out_w;
            let (col, col_stride) = patches(g, x, b, rows.clone(), &mut scratch);
            // y[:, tile] (cout x width, row stride N) (+)= W (cout x K) · col (K x width)
            product(
                [cout, width, k],
                (&mut out[rows.start * g.out_w..], n),
                bias.is_some(),
                (weight, 1, k as isize),
                (col, 1, col_stride as isize),
                parallelism,
            );
        }
    };
    if per_thread {
        y.par_chunks_exact_mut(g.out_image()).enumerate().for_each(one_image);
    } else {
        y.chunks_exact_mut(g.out_image()).enumerate().for_each(one_image);
    }
    y
}

/// Which gradients the caller needs.
#[derive(Clone, Copy, Debug)]
pub struct Wanted {
    pub x: bool,
    pub weight: bool,
    pub bias: bool,
}

/// The gradients of one convolution; `None` where not wanted.
#[derive(Debug, Default)]
pub struct ConvGradients {
    pub x: Option<Vec<f32>>,
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

/// Backward of [`forward`] for upstream gradient `dy` (`[batch, cout, oh, ow]`).
pub fn backward(g: &ConvGeometry, x: &[f32], weight: &[f32], dy: &[f32], wanted: Wanted) -> ConvGradients {
    let mut dx = wanted.x.then(|| vec![0.0f32; g.batch * g.in_image()]);
    let (per_thread, parallelism) = split(g);
    let one_image = |partial: Partial, (b, dx_b): (usize, Option<&mut [f32]>)| {
        image_backward(g, x, weight, dy, b, dx_b, wanted, partial, parallelism)
    };
    let images: Vec<(usize, Option<&mut [f32]>)> = match dx.as_mut() {
        Some(dx) => dx.chunks_exact_mut(g.in_image()).map(Some).enumerate().collect(),
        None => (0..g.batch).map(|b| (b, None)).collect(),
    };
    let sums = if per_thread {
        images
            .into_par_iter()
            .fold(|| Partial::zeros(g), one_image)
            .reduce(|| Partial::zeros(g), Partial::add)
    } else {
        images.into_iter().fold(Partial::zeros(g), one_image)
    };
    ConvGradients {
        x: dx,
        weight: wanted.weight.then(|| transpose(&sums.weight_t, g.patch_len(), g.channels_out)),
        bias: wanted.bias.then_some(sums.bias),
    }
}

/// `[rows, cols]` row-major -> `[cols, rows]` row-major.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; values.len()];
    for (r, row) in values.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            out[c * rows + r] = v;
        }
    }
    out
}

/// One image's share of [`backward`]: adds to `partial`, writes `dx_b`, tile by tile.
#[allow(clippy::too_many_arguments)]
fn image_backward(
    g: &ConvGeometry,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    b: usize,
    mut dx_b: Option<&mut [f32]>,
    wanted: Wanted,
    mut partial: Partial,
    parallelism: Parallelism,
) -> Partial {
    let (k, n, cout) = (g.patch_len(), g.out_pixels(), g.channels_out);
    let dy_b = &dy[b * g.out_image()..][..g.out_image()];
    if wanted.bias {
        partial.bias.iter_mut().zip(dy_b.chunks_exact(n)).for_each(|(s, row)| *s += row.iter().sum::<f32>());
    }
    let (mut scratch, mut dcol) = (Vec::new(), Vec::new());
    for rows in tiles(g) {
        let (width, start) = (rows.len() * g.out_w, rows.start * g.out_w);
        let dy_tile = &dy_b[start..];
        if wanted.weight {
            let (col, col_stride) = patches(g, x, b, rows.clone(), &mut scratch);
            // dW^T (K x cout) += col (K x width) · dy_tile^T (width x cout): twice gemm's
            // rate of dy · col^T at these shapes (kernels/examples/gemm_probe.rs).
            product([k, cout, width], (&mut partial.weight_t, cout), true, (col, 1, col_stride as isize), (dy_tile, n as isize, 1), parallelism);
        }
        let Some(dx_b) = dx_b.as_deref_mut() else { continue };
        // dcol (K x width) = W^T (K x cout) · dy_tile (cout x width)
        if g.is_pointwise() {
            product([k, width, cout], (&mut dx_b[start..], n), false, (weight, k as isize, 1), (dy_tile, 1, n as isize), parallelism);
        } else {
            dcol.resize(k * width, 0.0);
            product([k, width, cout], (&mut dcol, width), false, (weight, k as isize, 1), (dy_tile, 1, n as isize), parallelism);
            col2im(g, &dcol, rows, dx_b);
        }
    }
    partial
}

/// Joins two tensors along their second axis: `a` is `[outer, a_channels, inner]`, `b`
/// `[outer, b_channels, inner]`, the result `[outer, a_channels + b_channels, inner]`
/// (images along channels with `inner = h w`; weights along input channels with
/// `inner = kh kw`).
pub fn concat_channels(a: (&[f32], usize), b: (&[f32], usize), outer: usize, inner: usize) -> Vec<f32> {
    let (a_block, b_block) = (a.1 * inner, b.1 * inner);
    assert!(a.0.len() == outer * a_block && b.0.len() == outer * b_block, "concat_channels: sizes do not match the shapes");
    let mut joined = Vec::with_capacity(outer * (a_block + b_block));
    for (a_part, b_part) in a.0.chunks_exact(a_block).zip(b.0.chunks_exact(b_block)) {
        joined.extend_from_slice(a_part);
        joined.extend_from_slice(b_part);
    }
    joined
}

/// The inverse of [`concat_channels`]: the first `a_channels` of every block, then the rest.
pub fn split_channels(joined: &[f32], a_channels: usize, b_channels: usize, outer: usize, inner: usize) -> (Vec<f32>, Vec<f32>) {
    let (a_block, b_block) = (a_channels * inner, b_channels * inner);
    assert_eq!(joined.len(), outer * (a_block + b_block), "split_channels: size does not match the shapes");
    let (mut a, mut b) = (Vec::with_capacity(outer * a_block), Vec::with_capacity(outer * b_block));
    for block in joined.chunks_exact(a_block + b_block) {
        a.extend_from_slice(&block[..a_block]);
        b.extend_from_slice(&block[a_block..]);
    }
    (a, b)
}

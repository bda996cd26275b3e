//! Softmax along the last axis as one flex operation each way, with its own backward.
//!
//! burn's `softmax` is four operations (max, subtract and exp, sum, divide), each a pass
//! over the whole tensor and each output kept for the backward, which is as many again. In
//! CMS-LSTM's attention the tensor is `[B, 2048, 2048]` per stage and step (67 MB at batch 4),
//! so the passes and the kept intermediates are most of that model's time and memory. Fused:
//! one pass forward (keeping only the output), one backward: `dx = y (dy - sum(dy y))`.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use crate::activation::{PARALLEL_CHUNK, exp_nonpositive};
use crate::flex::{f32_values, flex_tensor, runs_on_flex};
use crate::zeroed::zeroed;

#[backend_extension(Flex, Autodiff)]
pub trait CpuSoftmaxBackend: Backend {
    /// Softmax over the last axis, of rows `row_len` long.
    fn softmax_rows(x: FloatTensor<Self>, row_len: usize) -> FloatTensor<Self>;
}

/// `softmax(x, D - 1)`: fused on flex, burn's own elsewhere.
pub fn softmax_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !runs_on_flex(&x.device()) {
        return burn::tensor::activation::softmax(x, D - 1);
    }
    let row_len = x.dims()[D - 1];
    Tensor::from_dispatch(<Dispatch as CpuSoftmaxBackend>::softmax_rows(x.into_dispatch(), row_len))
}

/// Lanes of the partial sums: reductions in a fixed order the compiler can vectorise.
const LANES: usize = 16;

/// `f` folded over `values` in `LANES` interleaved partial results, then combined.
#[inline(always)]
fn reduce(values: impl Iterator<Item = f32> + Clone, init: f32, f: impl Fn(f32, f32) -> f32 + Copy) -> f32 {
    let mut lanes = [init; LANES];
    for (i, v) in values.enumerate() {
        lanes[i % LANES] = f(lanes[i % LANES], v);
    }
    lanes.into_iter().fold(init, f)
}

#[inline(always)]
pub(crate) fn softmax_row(out: &mut [f32], x: &[f32]) {
    let max = reduce(x.iter().copied(), f32::NEG_INFINITY, f32::max);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = exp_nonpositive(v - max);
    }
    let inv = 1.0 / reduce(out.iter().copied(), 0.0, |a, b| a + b);
    out.iter_mut().for_each(|o| *o *= inv);
}

/// [`softmax_row`] over `row` itself.
#[inline(always)]
pub(crate) fn softmax_row_in_place(row: &mut [f32]) {
    let max = reduce(row.iter().copied(), f32::NEG_INFINITY, f32::max);
    row.iter_mut().for_each(|v| *v = exp_nonpositive(*v - max));
    let inv = 1.0 / reduce(row.iter().copied(), 0.0, |a, b| a + b);
    row.iter_mut().for_each(|v| *v *= inv);
}

#[inline(always)]
fn softmax_row_backward(dx: &mut [f32], y: &[f32], dy: &[f32]) {
    let dot = reduce(y.iter().zip(dy).map(|(y, g)| y * g), 0.0, |a, b| a + b);
    for ((d, &y), &g) in dx.iter_mut().zip(y).zip(dy) {
        *d = y * (g - dot);
    }
}

/// Runs `row(out_row, input rows..)` over every row of `out` on this thread, the row
/// function compiled for AVX-512, AVX2+FMA and the baseline, picked at run time.
///
/// `row` is a generic closure, not a function pointer, so that it is inlined into (and
/// compiled with the features of) each variant.
pub(crate) fn rows_here<const I: usize, F: Fn(&mut [f32], [&[f32]; I]) + Copy>(out: &mut [f32], inputs: [&[f32]; I], row_len: usize, row: F) {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    unsafe fn widest<const I: usize, F: Fn(&mut [f32], [&[f32]; I]) + Copy>(out: &mut [f32], inputs: [&[f32]; I], n: usize, row: F) {
        narrow(out, inputs, n, row)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn wide<const I: usize, F: Fn(&mut [f32], [&[f32]; I]) + Copy>(out: &mut [f32], inputs: [&[f32]; I], n: usize, row: F) {
        narrow(out, inputs, n, row)
    }
    #[inline(always)]
    fn narrow<const I: usize, F: Fn(&mut [f32], [&[f32]; I]) + Copy>(out: &mut [f32], inputs: [&[f32]; I], n: usize, row: F) {
        for (r, o) in out.chunks_exact_mut(n).enumerate() {
            row(o, inputs.map(|i| &i[r * n..][..n]));
        }
    }
    #[cfg(target_arch = "x86_64")]
    if crate::simd::level() >= crate::simd::SimdLevel::Avx512 {
        // SAFETY: the CPU has the features `widest` is compiled for (the level is at most the machine's).
        return unsafe { widest(out, inputs, row_len, row) };
    }
    #[cfg(target_arch = "x86_64")]
    if crate::simd::level() >= crate::simd::SimdLevel::Avx2 {
        // SAFETY: the CPU has the features `wide` is compiled for (the level is at most the machine's).
        return unsafe { wide(out, inputs, row_len, row) };
    }
    narrow(out, inputs, row_len, row)
}

/// [`rows_here`] with the rows split across rayon's threads.
fn for_rows<const I: usize, F: Fn(&mut [f32], [&[f32]; I]) + Copy + Sync>(out: &mut [f32], inputs: [&[f32]; I], row_len: usize, row: F) {
    let rows_per_task = (PARALLEL_CHUNK / row_len.max(1)).max(1);
    out.par_chunks_mut(rows_per_task * row_len).enumerate().for_each(|(task, chunk)| {
        let start = task * rows_per_task * row_len;
        rows_here(chunk, inputs.map(|i| &i[start..][..chunk.len()]), row_len, row);
    });
}

#[derive(Debug, Clone, Copy)]
struct Softmax {
    row_len: usize,
}

impl Softmax {
    fn forward(self, x: &FlexTensor) -> FlexTensor {
        let values = f32_values(x);
        assert_eq!(values.len() % self.row_len.max(1), 0, "softmax: length is not a whole number of rows");
        let mut out = zeroed(values.len());
        for_rows(&mut out, [&values], self.row_len, #[inline(always)] |o, [x]| softmax_row(o, x));
        flex_tensor(out, x.layout().shape().clone())
    }
}

impl Backward<Flex, 1> for Softmax {
    /// The forward's output (shares its buffer: no copy).
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        if let [Some(parent)] = ops.parents {
            let (y, dy) = (f32_values(&ops.state), f32_values(&dy));
            let mut dx = zeroed(y.len());
            for_rows(&mut dx, [&y, &dy], self.row_len, #[inline(always)] |d, [y, g]| softmax_row_backward(d, y, g));
            grads.register::<Flex>(parent.id, flex_tensor(dx, ops.state.layout().shape().clone()));
        }
    }
}

impl CpuSoftmaxBackend for Flex {
    fn softmax_rows(x: FlexTensor, row_len: usize) -> FlexTensor {
        Softmax { row_len }.forward(&x)
    }
}

impl<C: CheckpointStrategy> CpuSoftmaxBackend for Autodiff<Flex, C> {
    fn softmax_rows(x: FloatTensor<Self>, row_len: usize) -> FloatTensor<Self> {
        let op = Softmax { row_len };
        let prepared = op.prepare::<C>([x.node()]).compute_bound().stateful();
        let y = op.forward(&x.into_primitive());
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

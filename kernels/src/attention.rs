//! `softmax(q k) v` without the attention map: on flex outside autodiff (evaluation), a
//! block of queries at a time, so the `[G, N, N]` map (67 MB per CMS-LSTM stage at batch 4)
//! is never written out, read back, or page-faulted in; each block's scores stay in cache.
//! Under autodiff the map is needed for the backward, and the three operations run as they
//! are (matrix products and the fused softmax of [`crate::softmax`]).

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::tensor::Tensor;
use gemm::Parallelism;
use rayon::prelude::*;

use crate::flex::{f32_values, flex_tensor};
use crate::gate_blocks::DisjointOut;
use crate::softmax::{CpuSoftmaxBackend, rows_here, softmax_last, softmax_row_in_place};
use crate::zeroed::zeroed;

/// Queries per block: a block's scores are `QUERY_BLOCK x N` values (512 KB at N = 2048).
const QUERY_BLOCK: usize = 64;

#[backend_extension(Flex, Autodiff)]
pub trait CpuAttentionBackend: Backend {
    /// `softmax(q k, last axis) v` for `q` `[G, N, C]`, `k` `[G, C, M]`, `v` `[G, M, C']`.
    fn attention_fused(q: FloatTensor<Self>, k: FloatTensor<Self>, v: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `softmax(q.matmul(k), 2).matmul(v)`: without the attention map on flex outside
/// autodiff, the three operations elsewhere (the softmax fused on flex).
pub fn attention(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> Tensor<3> {
    let ([g, _, c], [gk, ck, m], [gv, mv, _]) = (q.dims(), k.dims(), v.dims());
    assert!(gk == g && gv == g && ck == c && mv == m, "attention: q {:?}, k {:?}, v {:?} do not chain", q.dims(), k.dims(), v.dims());
    if !matches!(q.device().as_dispatch(), DispatchDevice::Flex(_)) {
        return softmax_last(q.matmul(k)).matmul(v);
    }
    Tensor::from_dispatch(<Dispatch as CpuAttentionBackend>::attention_fused(q.into_dispatch(), k.into_dispatch(), v.into_dispatch()))
}

fn dims3(t: &FlexTensor) -> [usize; 3] {
    let shape = t.layout().shape();
    assert_eq!(shape.num_dims(), 3, "attention: expected 3-D tensors");
    [shape[0], shape[1], shape[2]]
}

/// `dst (rows x cols, row-major, overwritten) = lhs (rows x depth) · rhs (depth x cols)`,
/// both operands row-major and contiguous.
fn product(dst: &mut [f32], lhs: &[f32], rhs: &[f32], [rows, depth, cols]: [usize; 3]) {
    assert!(dst.len() >= rows * cols && lhs.len() >= rows * depth && rhs.len() >= depth * cols, "attention: operand sizes");
    // SAFETY: the three slices cover the row-major views described (checked above).
    unsafe {
        gemm::gemm(
            rows, cols, depth,
            dst.as_mut_ptr(), 1, cols as isize, false,
            lhs.as_ptr(), 1, depth as isize,
            rhs.as_ptr(), 1, cols as isize,
            0.0, 1.0, false, false, false,
            Parallelism::None,
        );
    }
}

fn fused(q: &FlexTensor, k: &FlexTensor, v: &FlexTensor) -> FlexTensor {
    let ([g, n, c], [_, _, m], [_, _, cv]) = (dims3(q), dims3(k), dims3(v));
    let (qv, kv, vv) = (f32_values(q), f32_values(k), f32_values(v));
    let mut out = zeroed(g * n * cv);
    let sink = DisjointOut::new(&mut out);
    let blocks = n.div_ceil(QUERY_BLOCK);
    (0..g * blocks).into_par_iter().for_each_init(Vec::new, |scores, task| {
        let (group, first) = (task / blocks, (task % blocks) * QUERY_BLOCK);
        let rows = QUERY_BLOCK.min(n - first);
        scores.resize(rows * m, 0.0);
        let q_block = &qv[(group * n + first) * c..][..rows * c];
        product(scores, q_block, &kv[group * c * m..][..c * m], [rows, c, m]);
        rows_here(scores, [], m, #[inline(always)] |row, []| softmax_row_in_place(row));
        // SAFETY: each task writes its own rows of `out`.
        let out_block = unsafe { sink.range((group * n + first) * cv, rows * cv) };
        product(out_block, scores, &vv[group * m * cv..][..m * cv], [rows, m, cv]);
    });
    flex_tensor(out, [g, n, cv])
}

impl CpuAttentionBackend for Flex {
    fn attention_fused(q: FlexTensor, k: FlexTensor, v: FlexTensor) -> FlexTensor {
        fused(&q, &k, &v)
    }
}

/// Under autodiff the attention map is kept for the backward: the three operations.
impl<C: CheckpointStrategy> CpuAttentionBackend for Autodiff<Flex, C> {
    fn attention_fused(q: FloatTensor<Self>, k: FloatTensor<Self>, v: FloatTensor<Self>) -> FloatTensor<Self> {
        use burn::backend::ops::FloatTensorOps;
        let scores = <Self as FloatTensorOps<Self>>::float_matmul(q, k);
        let row_len = scores.primitive().layout().shape()[2];
        let attention = <Self as CpuSoftmaxBackend>::softmax_rows(scores, row_len);
        <Self as FloatTensorOps<Self>>::float_matmul(attention, v)
    }
}

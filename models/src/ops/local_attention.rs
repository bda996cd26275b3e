//! PrecipLSTM's local attention (the authors' `img_local_att` CUDA extension), in burn.
//!
//! Each pixel attends to a `k x k` window of offsets `-(k/2) .. k - 1 - k/2` (asymmetric for
//! even k: -15..+14 for k = 30). Out-of-image keys score 0 and still take part in the
//! softmax; out-of-image values contribute 0. No 1/sqrt(d) scaling.
//!
//! It is a fused operation in the reference, invisible to thop: its normalisation is
//! therefore written out (max-shifted exp over the window sum) rather than with burn's
//! softmax, which the cost counter counts as a module-level softmax.

use burn::tensor::Tensor;
use burn::tensor::module::unfold4d;
use burn::tensor::ops::UnfoldOptions;

/// `q`, `k`, `v` are `[B, C, H, W]`; returns `[B, C, H, W]`.
pub fn local_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, window: usize) -> Tensor<4> {
    let [b, c, h, w] = q.dims();
    let before = window / 2;
    let after = window - 1 - before;
    let windows = |t: Tensor<4>| {
        let padded = t.pad(
            (before, after, before, after),
            burn::tensor::ops::PadMode::Constant(0.0),
        );
        unfold4d(
            padded,
            [window, window],
            UnfoldOptions::new([1, 1], [0, 0], [1, 1]),
        )
        .reshape([b, c, window * window, h * w])
    };
    let scores = (q.reshape([b, c, 1, h * w]) * windows(k)).sum_dim(1); // [B, 1, k*k, HW]
    let shifted = scores.clone() - scores.max_dim(2);
    let weights = shifted.exp();
    let weights = weights.clone() / weights.sum_dim(2);
    (weights * windows(v)).sum_dim(2).reshape([b, c, h, w])
}

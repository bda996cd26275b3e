//! The authors' training loss (`loss.py`, spec section 1.3).

use burn::tensor::Tensor;

/// `mean_{b,s} sum_{c,h,w} d^2 + mean_{b,s} sum_{c,h,w} |d|` with `d = target - prediction`,
/// over all S-1 predicted frames. Inputs are `[B, S-1, C, H, W]`.
pub fn paper_loss(prediction: Tensor<5>, target: Tensor<5>) -> Tensor<1> {
    let [batch, steps, _, _, _] = prediction.dims();
    let d = (target - prediction).reshape([(batch * steps) as i32, -1]);
    let squared = d.clone().square().sum_dim(1).mean();
    let absolute = d.abs().sum_dim(1).mean();
    squared + absolute
}

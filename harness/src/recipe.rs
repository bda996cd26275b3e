//! A training recipe: optimiser, learning-rate schedule, loss, and the feeding schedules.

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer};
use burn::tensor::Tensor;
use vpbench_models::{Feeding, Model, paper_loss};

use crate::experiment::{LossKind, OptimizerKind, Profile, ScheduleKind};

/// The authors' reverse scheduled sampling (by epoch, 1-based, of `epochs`): the probability
/// of ground truth for input steps (eta_r) and for future steps (eta). At test time
/// (epoch = epochs) it is (1, 0), plain autoregressive feeding.
pub fn reverse_schedule(epoch: usize, epochs: usize) -> (f64, f64) {
    let (e, total) = (epoch as f64, epochs as f64);
    let (start, end) = (total / 3.0, 2.0 * total / 3.0);
    let step = start / 5.0;
    if e < start {
        (0.5, 0.5)
    } else if e < end {
        (
            1.0 - 0.5 * (-(e - start) / step).exp(),
            0.5 - 0.5 * (e - start) / (end - start),
        )
    } else {
        (1.0, 0.0)
    }
}

/// The training criterion of the profile.
pub(crate) fn criterion(kind: LossKind, prediction: Tensor<5>, target: Tensor<5>) -> Tensor<1> {
    match kind {
        LossKind::L2L1Sum => paper_loss(prediction, target),
        LossKind::Mse => (prediction - target).square().mean(),
    }
}

/// The profile's optimiser: Adam or AdamW (betas 0.9/0.999, eps 1e-8 as PyTorch), with
/// its weight decay and per-tensor gradient-norm clipping.
pub(crate) fn optimizer(p: &Profile) -> ModuleOptimizer {
    optimizer_with_beta1(p, 0.9)
}

fn optimizer_with_beta1(p: &Profile, beta_1: f32) -> ModuleOptimizer {
    let clipping = p
        .grad_clip_norm
        .map(|n| GradientClippingConfig::Norm(n as f32));
    match p.optimizer {
        OptimizerKind::Adam => AdamConfig::new()
            .with_beta_1(beta_1)
            .with_epsilon(1e-8)
            .with_weight_decay(
                (p.weight_decay > 0.0).then(|| WeightDecayConfig::new(p.weight_decay as f32)),
            )
            .with_grad_clipping(clipping)
            .init(),
        OptimizerKind::AdamW => AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_epsilon(1e-8)
            .with_weight_decay(p.weight_decay as f32)
            .with_grad_clipping(clipping)
            .init(),
    }
}

/// Adam's beta1 at step `step` of `total` where the schedule cycles it: PyTorch's OneCycleLR
/// does by default (`cycle_momentum`, base 0.85, max 0.95), opposite to the learning rate:
/// 0.95 -> 0.85 while it rises, back to 0.95 while it anneals. `None`: beta1 stays 0.9.
pub fn cycled_beta1(p: &Profile, step: usize, total: usize) -> Option<f64> {
    (p.schedule == ScheduleKind::OneCycle).then(|| {
        let (base, max) = (0.85, 0.95);
        let up_end = (0.3 * total as f64 - 1.0).max(1.0);
        let s = step as f64;
        if s <= up_end {
            cos_anneal(max, base, s / up_end)
        } else {
            cos_anneal(base, max, (s - up_end) / ((total as f64 - 1.0) - up_end).max(1.0))
        }
    })
}

/// The optimiser for step `step` of `total`: `optim` itself, or with the schedule's beta1
/// where that cycles. Adam's state (moments, step count) does not depend on beta1, so it is
/// carried over, and the next update uses the new value, as PyTorch's scheduler setting
/// `param_group["betas"]` between steps does.
pub(crate) fn schedule_beta1(optim: &mut ModuleOptimizer, p: &Profile, step: usize, total: usize) {
    if let Some(beta_1) = cycled_beta1(p, step, total) {
        *optim = optimizer_with_beta1(p, beta_1 as f32).load_record(optim.to_record());
    }
}

/// Cosine annealing from `start` to `end` at fraction `pct` (PyTorch's `_annealing_cos`).
fn cos_anneal(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * (1.0 + (std::f64::consts::PI * pct.clamp(0.0, 1.0)).cos())
}

/// The learning rate of step `step` (0-based) of `total`.
pub fn learning_rate(p: &Profile, step: usize, total: usize) -> f64 {
    let halved = vpbench_models::faults::is_injected("learning-rate-halved");
    let lr = if halved { p.learning_rate / 2.0 } else { p.learning_rate };
    let s = step as f64;
    match p.schedule {
        ScheduleKind::Constant => lr,
        ScheduleKind::OneCycle => {
            // torch.optim.lr_scheduler.OneCycleLR defaults: pct_start 0.3, div 25, final div 1e4
            let (initial, min) = (lr / 25.0, lr / 25.0 / 1e4);
            let up_end = (0.3 * total as f64 - 1.0).max(1.0);
            if s <= up_end {
                cos_anneal(initial, lr, s / up_end)
            } else {
                cos_anneal(
                    lr,
                    min,
                    (s - up_end) / ((total as f64 - 1.0) - up_end).max(1.0),
                )
            }
        }
        ScheduleKind::WarmupCosine => {
            let warm = (p.warmup_fraction * total as f64).round();
            if s < warm {
                lr * s / warm
            } else {
                cos_anneal(lr, lr * 1e-3, (s - warm) / (total as f64 - warm).max(1.0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::reverse_schedule;

    #[test]
    fn learning_rate_schedules() {
        use super::learning_rate;
        use crate::experiment::ScheduleKind;
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/profiles/mmnist.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let profiles = crate::profile_file::parse_profiles(&text, std::path::Path::new(path)).unwrap();
        let mut p = profiles["smoke"].clone();
        p.learning_rate = 1.0;
        assert_eq!(learning_rate(&p, 7, 100), 1.0);
        p.schedule = ScheduleKind::WarmupCosine;
        p.warmup_fraction = 0.2;
        assert_eq!(learning_rate(&p, 0, 100), 0.0);
        assert!((learning_rate(&p, 10, 100) - 0.5).abs() < 1e-12);
        assert!((learning_rate(&p, 20, 100) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&p, 60, 100) - (1e-3 + (1.0 - 1e-3) * 0.5)).abs() < 1e-12);
        p.schedule = ScheduleKind::OneCycle;
        assert!((learning_rate(&p, 0, 100) - 1.0 / 25.0).abs() < 1e-12);
        assert!((learning_rate(&p, 29, 100) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&p, 99, 100) - 1.0 / 25.0 / 1e4).abs() < 1e-12);
        // beta1 cycles opposite to the rate: 0.95 at the start, 0.85 at the peak, 0.95 at the end
        use super::cycled_beta1;
        assert!((cycled_beta1(&p, 0, 100).unwrap() - 0.95).abs() < 1e-12);
        assert!((cycled_beta1(&p, 29, 100).unwrap() - 0.85).abs() < 1e-12);
        assert!((cycled_beta1(&p, 64, 100).unwrap() - 0.90).abs() < 1e-2);
        assert!((cycled_beta1(&p, 99, 100).unwrap() - 0.95).abs() < 1e-12);
        p.schedule = ScheduleKind::WarmupCosine;
        assert_eq!(cycled_beta1(&p, 10, 100), None);
    }

    #[test]
    fn reverse_schedule_follows_the_authors_formula() {
        // E = 20: start 6.67, end 13.33, step 1.33
        assert_eq!(reverse_schedule(1, 20), (0.5, 0.5));
        let (r, e) = reverse_schedule(10, 20);
        let x: f64 = (10.0 - 20.0 / 3.0) / (20.0 / 15.0);
        assert!((r - (1.0 - 0.5 * (-x as f64).exp())).abs() < 1e-12);
        assert!((e - (0.5 - 0.5 * (10.0 - 20.0 / 3.0) / (20.0 / 3.0))).abs() < 1e-12);
        assert_eq!(reverse_schedule(20, 20), (1.0, 0.0));
    }
}

/// The frames that `predictions` (`[B, P, ...]`) predict: the last P of `frames`.
pub(crate) fn targets(frames: &Tensor<5>, predictions: &Tensor<5>) -> Tensor<5> {
    let (s, p) = (frames.dims()[1], predictions.dims()[1]);
    frames.clone().narrow(1, s - p, p)
}

pub(crate) fn model_loss(
    model: &Model,
    frames: Tensor<5>,
    feeding: &Feeding,
    kind: LossKind,
) -> anyhow::Result<Tensor<1>> {
    let out = model.forward(frames.clone(), feeding)?;
    let target = targets(&frames, &out.predictions);
    let loss = criterion(kind, out.predictions, target);
    Ok(match out.aux_loss {
        Some(aux) => loss + aux,
        None => loss,
    })
}

//! Data-parallel training in one process: the batch is cut into one shard per device, a
//! replica of the model forked onto each device computes its shard's gradients, and the
//! gradients are summed on the model's own device before one optimiser step (the paper's
//! protocol: 4 GPUs, one sequence each).

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use vpbench_models::{Feeding, Model};

use crate::experiment::LossKind;
use crate::recipe::model_loss;

/// Contiguous shards of `batch` samples over `parts` devices, sizes differing by at most one
/// (empty shards dropped): `(start, len)`.
pub fn shards(batch: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.max(1);
    let (base, extra) = (batch / parts, batch % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let shard = (start, len);
            start += len;
            shard
        })
        .filter(|&(_, len)| len > 0)
        .collect()
}

fn shard_feeding(feeding: &Feeding, start: usize, len: usize) -> Feeding {
    let cut = |masks: &Vec<Vec<bool>>| -> Vec<Vec<bool>> {
        masks
            .iter()
            .map(|m| m[start..start + len].to_vec())
            .collect()
    };
    match feeding {
        Feeding::Autoregressive => Feeding::Autoregressive,
        Feeding::Scheduled { masks } => Feeding::Scheduled { masks: cut(masks) },
        Feeding::Reverse { masks } => Feeding::Reverse { masks: cut(masks) },
    }
}

/// The loss value and gradients of one training step of `model` on `frames`. With more than
/// one device the work is split as described in the module documentation; every loss is a
/// mean over the batch, so each shard's loss is weighted by its share of the batch and the
/// summed gradients equal those of the whole batch on one device.
pub fn step_gradients(
    model: &Model,
    devices: &[Device],
    frames: Tensor<5>,
    feeding: &Feeding,
    loss: LossKind,
) -> anyhow::Result<(f64, GradientsParams)> {
    step_gradients_timed(model, devices, frames, feeding, loss).map(|s| (s.loss, s.gradients))
}

/// One data-parallel step and when each shard's work ran.
pub struct ParallelStep {
    pub loss: f64,
    pub gradients: GradientsParams,
    /// Start and end of each shard's forward and backward, in shard order.
    pub shard_spans: Vec<(Instant, Instant)>,
}

/// [`step_gradients`], with the shards' time spans. The shards run concurrently, one thread
/// per device: forking the replicas (the broadcast of the current weights) happens first on
/// the calling thread, then every replica runs its forward and backward at once, and the
/// gradients are reduced once on the model's device.
pub fn step_gradients_timed(
    model: &Model,
    devices: &[Device],
    frames: Tensor<5>,
    feeding: &Feeding,
    loss: LossKind,
) -> anyhow::Result<ParallelStep> {
    if devices.len() <= 1 {
        let (value, gradients, span) = shard_step(model, frames, feeding, loss, 1.0)?;
        return Ok(ParallelStep {
            loss: value,
            gradients,
            shard_spans: vec![span],
        });
    }
    let batch = frames.dims()[0];
    let work: Vec<_> = shards(batch, devices.len())
        .into_iter()
        .zip(devices)
        .map(|((start, len), device)| {
            let replica = model.fork(device);
            let shard = frames.clone().narrow(0, start, len).to_device(device);
            let share = len as f64 / batch as f64;
            (replica, shard, shard_feeding(feeding, start, len), share)
        })
        .collect();
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|(replica, shard, shard_feeding, share)| {
                scope.spawn(move || shard_step(&replica, shard, &shard_feeding, loss, share))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|panic| {
                    Err(anyhow::anyhow!(
                        "a data-parallel shard panicked: {}",
                        crate::panic::panic_message(panic.as_ref())
                    ))
                })
            })
            .collect()
    });
    let mut value = 0.0;
    let mut parts = Vec::with_capacity(outcomes.len());
    let mut shard_spans = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        let (v, gradients, span) = outcome?;
        value += v;
        parts.push(gradients);
        shard_spans.push(span);
    }
    Ok(ParallelStep {
        loss: value,
        gradients: model.sum_gradients(parts),
        shard_spans,
    })
}

/// One shard's loss (weighted by its `share` of the batch), its gradients, and when it ran.
fn shard_step(
    model: &Model,
    frames: Tensor<5>,
    feeding: &Feeding,
    loss: LossKind,
    share: f64,
) -> anyhow::Result<(f64, GradientsParams, (Instant, Instant))> {
    let begin = Instant::now();
    let mut l = model_loss(model, frames, feeding, loss)?;
    if share != 1.0 {
        l = l.mul_scalar(share);
    }
    let value = l.clone().into_scalar::<f32>() as f64;
    let gradients = model.backward(l);
    Ok((value, gradients, (begin, Instant::now())))
}

#[cfg(test)]
mod tests {
    use super::shards;

    #[test]
    fn shards_cover_the_batch_in_near_equal_contiguous_parts() {
        assert_eq!(shards(4, 4), vec![(0, 1), (1, 1), (2, 1), (3, 1)]);
        assert_eq!(shards(5, 2), vec![(0, 3), (3, 2)]);
        assert_eq!(shards(2, 4), vec![(0, 1), (1, 1)]);
        assert_eq!(shards(7, 1), vec![(0, 7)]);
    }
}

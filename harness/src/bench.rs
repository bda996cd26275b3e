//! Throughput, memory and MAC rate of one model on one device: the numbers of `cargo xtask bench`.
//!
//! Timed steps are bracketed by `device.sync()`, so that a GPU's queued work is inside the
//! step it belongs to; the median of the timed steps (after warm-up) is reported.

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use vpbench_models::cost::count_macs;
use vpbench_models::{Feeding, ModelConfig, registry};

use burn::tensor::{Distribution, Tensor};

use crate::device::ComputeDevice;
use crate::experiment::Profile;
use crate::memory::{EnergyCounter, MemoryPeak, PoolSampler, memory_peak, reset_peak_rss, start_sampler};
use crate::recipe::optimizer;
use crate::run::step::{Learner, StepClock, StepState, training_step};

/// How many steps to run and time.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct BenchSteps {
    pub warmup: usize,
    pub timed: usize,
}

/// One model's measurements.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchResult {
    pub model: String,
    pub paper_name: String,
    pub config: ModelConfig,
    pub batch: usize,
    pub params: usize,
    /// MACs of one forward pass over one sequence, everything executed (convolutions,
    /// upsampling, attention products), at this configuration.
    pub forward_macs_per_sequence: u64,
    pub train_step_median_s: f64,
    pub train_sequences_per_s: f64,
    pub eval_step_median_s: f64,
    pub eval_sequences_per_s: f64,
    /// Forward MACs per second achieved in evaluation.
    pub eval_macs_per_s: f64,
    /// Training MACs per second, counting a training step as three forward passes
    /// (forward, and a backward that costs about two).
    pub train_macs_per_s: f64,
    pub memory: MemoryPeak,
    /// The paper's analytic training memory (`4 M_par + 2 M_out`) at this configuration and
    /// batch, from the captured graph: device-independent, beside the measured peak.
    pub analytic_memory: vpbench_models::cost::AnalyticMemory,
    /// burn's features active on this device (`autotune`, `persistence`; none on flex).
    #[serde(default)]
    pub burn_features: Vec<String>,
    /// NVML's energy counter over the timed training steps, per training sequence (joules);
    /// `None` (not measured) off an NVIDIA card.
    #[serde(default)]
    pub train_joules_per_sequence: Option<f64>,
    /// Empty when the model ran; otherwise why it could not (out of memory, a kernel error).
    pub error: String,
}

/// The median of `xs` (the mean of the middle two for an even count; NaN when empty).
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn sync(device: &burn::tensor::Device) -> anyhow::Result<()> {
    device
        .sync()
        .map_err(|e| anyhow::anyhow!("device synchronisation failed: {e:?}"))
}

/// What the timed steps measured: each step's seconds, and the card's energy over all of them
/// (joules; `None` where NVML has no counter).
struct Timed {
    times: Vec<f64>,
    joules: Option<f64>,
}

/// Times `steps` of `f`, each bracketed by a device sync, after the untimed warm-up steps
/// (where kernels compile and burn autotunes each shape).
fn timed(
    device: &burn::tensor::Device,
    steps: BenchSteps,
    energy: Option<&EnergyCounter>,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Timed> {
    for _ in 0..steps.warmup {
        f()?;
    }
    sync(device)?;
    let before = energy.and_then(EnergyCounter::millijoules);
    let mut times = Vec::with_capacity(steps.timed);
    for _ in 0..steps.timed {
        let start = Instant::now();
        f()?;
        sync(device)?;
        times.push(start.elapsed().as_secs_f64());
    }
    let after = energy.and_then(EnergyCounter::millijoules);
    let joules = before.zip(after).map(|(b, a)| a.saturating_sub(b) as f64 / 1e3);
    Ok(Timed { times, joules })
}

/// What is counted, not timed: on the host, at the bench's configuration.
struct Counted {
    forward_macs: u64,
    analytic_memory: vpbench_models::cost::AnalyticMemory,
    params: usize,
}

fn counted(model: &str, config: &ModelConfig, batch: usize) -> anyhow::Result<Counted> {
    let host_model = registry::build(model, config, &burn::tensor::Device::flex())?;
    Ok(Counted {
        forward_macs: count_macs(&host_model, 1)?.total(),
        analytic_memory: vpbench_models::cost::analytic_memory(&host_model, batch)?,
        params: host_model.num_params(),
    })
}

/// Random frames of the profile's batch and sequence shape.
fn random_frames(config: &ModelConfig, batch: usize, device: &burn::tensor::Device) -> Tensor<5> {
    let shape = [batch, config.seq_len(), config.image_channels, config.height, config.width];
    Tensor::<5>::random(shape, Distribution::Uniform(0.0, 1.0), device)
}

/// Timed training steps: forward, loss, backward, optimiser step, with the model's own
/// training feeding.
fn train_step_times(
    model: &str,
    profile: &Profile,
    base: &burn::tensor::Device,
    steps: BenchSteps,
    memory: Option<&PoolSampler>,
    energy: Option<&EnergyCounter>,
) -> anyhow::Result<Timed> {
    let config = profile.model_config();
    let feeding_kind = registry::lookup(model)?.training_feeding;
    let train_device = base.clone().autodiff();
    let mut net = registry::build(model, &config, &train_device)?;
    let mut optim = optimizer(profile);
    let frames = random_frames(&config, profile.batch, &train_device);
    let mut rng = ChaCha8Rng::seed_from_u64(profile.seed);
    let total = steps.warmup + steps.timed;
    // eta held at 1 (every mask true), as the bench timed before the step was shared
    let clock = StepClock { eta_delta: 0.0, ..StepClock::authors(1, profile.epochs, total) };
    let mut state = StepState { eta: 1.0, steps: 0 };
    timed(base, steps, energy, || {
        let learner = Learner { model: &mut net, optim: &mut optim, replicas: &[], memory };
        training_step(learner, profile, feeding_kind, frames.clone(), &mut rng, &mut state, &clock).map(drop)
    })
}

/// Timed evaluation passes: the autoregressive forward without autodiff.
fn eval_step_times(model: &str, profile: &Profile, base: &burn::tensor::Device, steps: BenchSteps) -> anyhow::Result<Vec<f64>> {
    let config = profile.model_config();
    let net = registry::build(model, &config, base)?;
    let frames = random_frames(&config, profile.batch, base);
    timed(base, steps, None, || {
        drop(net.forward(frames.clone(), &Feeding::Autoregressive)?);
        Ok(())
    })
    .map(|t| t.times)
}

/// Benchmarks `model` at the profile's configuration and batch on `device`.
pub fn bench_model(
    model: &str,
    profile: &Profile,
    device: &ComputeDevice,
    steps: BenchSteps,
) -> anyhow::Result<BenchResult> {
    let (config, batch) = (profile.model_config(), profile.batch);
    let counted = counted(model, &config, batch)?;
    let base = &device.device;
    base.seed(profile.seed);
    reset_peak_rss();
    let samplers = start_sampler(device, std::time::Duration::from_millis(20));
    let energy = EnergyCounter::open(device);
    let (train, eval_s) = device.compute(|| -> anyhow::Result<(Timed, f64)> {
        let train = train_step_times(model, profile, base, steps, samplers.pool.as_ref(), energy.as_ref())?;
        Ok((train, median(eval_step_times(model, profile, base, steps)?)))
    })?;
    let train_joules_per_sequence = train.joules.map(|j| j / (steps.timed * batch) as f64);
    let train_s = median(train.times);
    let sequences_macs = counted.forward_macs as f64 * batch as f64;
    Ok(BenchResult {
        model: model.to_string(),
        paper_name: registry::lookup(model)?.paper_name.to_string(),
        config,
        batch,
        params: counted.params,
        forward_macs_per_sequence: counted.forward_macs,
        train_step_median_s: train_s,
        train_sequences_per_s: batch as f64 / train_s,
        eval_step_median_s: eval_s,
        eval_sequences_per_s: batch as f64 / eval_s,
        eval_macs_per_s: sequences_macs / eval_s,
        train_macs_per_s: 3.0 * sequences_macs / train_s,
        memory: memory_peak(samplers, base),
        analytic_memory: counted.analytic_memory,
        burn_features: device.burn_features(),
        train_joules_per_sequence,
        error: String::new(),
    })
}

/// The device's measured matrix-multiply rate (MACs per second): the median of timed
/// `n x n` products, the reference against which model MAC rates are read.
pub fn peak_matmul_macs_per_s(device: &burn::tensor::Device, n: usize) -> anyhow::Result<f64> {
    let a = Tensor::<2>::random([n, n], Distribution::Uniform(-1.0, 1.0), device);
    let b = Tensor::<2>::random([n, n], Distribution::Uniform(-1.0, 1.0), device);
    let steps = BenchSteps { warmup: 2, timed: 7 };
    let timed = timed(device, steps, None, || {
        drop(a.clone().matmul(b.clone()));
        Ok(())
    })?;
    Ok((n * n * n) as f64 / median(timed.times))
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }
}

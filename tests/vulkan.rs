//! Every registered model trains on burn's Vulkan backend (CubeCL kernels, as on CUDA and
//! every GPU) and computes there what it computes on flex: the forward pass, the loss and every
//! gradient, from the same weights and frames.
//!
//! The device is a CPU Vulkan driver: Mesa 26's lavapipe, which each test reruns itself on
//! (`vpbench_tests::on_newer_lavapipe`; bookworm's crashes on CubeCL's matrix product). Without
//! it these tests fail and say why: they are never skipped silently.

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use vpbench_harness::device::ComputeDevice;
use vpbench_models::earthformer::Earthformer;
use vpbench_models::registry::{self, MODELS};
use vpbench_models::simvp::SimVp;
use vpbench_models::{Feeding, Model, ModelConfig, paper_loss};
use vpbench_tests::{tiny_config, tiny_earthformer, tiny_nonrecurrent_config, tiny_simvp};

/// Float32 kernels on another backend sum in another order: 1e-4 relative, as for the goldens.
const TOLERANCE: f64 = 1e-4;

fn vulkan_cpu() -> ComputeDevice {
    ComputeDevice::parse("vulkan:cpu").unwrap_or_else(|e| panic!("{e:#}"))
}

/// The loss, predictions and named gradients of one evaluation-mode pass on `device`.
fn loss_and_gradients(model: &Model, frames: &TensorData, device: &Device) -> Vec<(String, Vec<f32>)> {
    let model = model.fork(&device.clone().autodiff());
    let frames = Tensor::<5>::from_data(frames.clone(), &model.device());
    let config = model.config().clone();
    let out = model
        .forward(frames.clone(), &Feeding::Autoregressive)
        .unwrap_or_else(|e| panic!("{}: {e}", model.name()));
    let predicted = out.predictions.dims()[1];
    let target = frames.narrow(1, config.seq_len() - predicted, predicted);
    let mut loss = paper_loss(out.predictions.clone(), target);
    if let Some(aux) = out.aux_loss {
        loss = loss + aux;
    }
    let values = |d: TensorData| d.convert::<f32>().try_to_vec::<f32>().unwrap();
    let mut tensors = vec![
        ("predictions".to_string(), values(out.predictions.into_data())),
        ("loss".to_string(), values(loss.clone().into_data())),
    ];
    // parameters the loss does not reach (PredRNN++'s unused GHUs, MIM's first-layer
    // memories) have no gradient: empty, and they must be absent on both backends
    for (param, grad) in model.named_gradients(loss.backward()) {
        tensors.push((format!("grad.{}", param.name), grad.map(values).unwrap_or_default()));
    }
    tensors
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt()
}

/// Runs `model` on flex and on Vulkan and compares every tensor; returns the largest error.
fn same_on_vulkan(model: Model, vulkan: &ComputeDevice) -> f64 {
    let name = model.name();
    let c = model.config().clone();
    let frames = Tensor::<5>::random(
        [2, c.seq_len(), c.image_channels, c.height, c.width],
        Distribution::Uniform(0.0, 1.0),
        &Device::flex(),
    )
    .into_data();
    let want = loss_and_gradients(&model, &frames, &Device::flex());
    let got = loss_and_gradients(&model, &frames, &vulkan.device);
    // gradients that are analytically ~0 are compared against the model's largest norm
    let floor = 1e-5 * want.iter().map(|(_, w)| norm(w)).fold(0.0, f64::max);
    let mut worst = 0.0f64;
    for ((key, w), (_, g)) in want.iter().zip(&got) {
        assert_eq!(w.len(), g.len(), "{name}: {key} present on one backend only");
        if w.is_empty() {
            continue;
        }
        assert!(g.iter().all(|v| v.is_finite()), "{name}: {key} is not finite on Vulkan");
        let diff: Vec<f32> = g.iter().zip(w).map(|(a, b)| a - b).collect();
        let error = norm(&diff) / norm(w).max(floor).max(f64::MIN_POSITIVE);
        assert!(
            error <= TOLERANCE,
            "{name}: {key} differs between flex and Vulkan ({}): relative error {error:e}",
            vulkan.adapter_label()
        );
        worst = worst.max(error);
    }
    worst
}

#[test]
fn every_recurrent_model_trains_on_vulkan_as_on_flex() {
    if !vpbench_tests::on_newer_lavapipe("every_recurrent_model_trains_on_vulkan_as_on_flex") {
        return;
    }
    let vulkan = vulkan_cpu();
    let mut checked = Vec::new();
    for entry in MODELS.iter().filter(|e| e.family == "RNN") {
        Device::flex().seed(11);
        // 16x16: at 8x8 the pyramid's MotionGRU warps a 1x1 map, where the reference's
        // (W - 1) normalisation divides by zero (inf grid, undefined on every backend)
        let config = ModelConfig {
            height: 16,
            width: 16,
            ..tiny_config()
        };
        let model = registry::build(entry.name, &config, &Device::flex()).unwrap();
        let worst = same_on_vulkan(model, &vulkan);
        println!("{}: largest relative error {worst:.1e}", entry.name);
        checked.push(format!("{} {worst:.1e}", entry.name));
    }
    println!("flex vs {}: {}", vulkan.adapter_label(), checked.join(", "));
    assert!(checked.len() >= 22, "{checked:?}");
}

/// Builds a tiny non-recurrent model on the CPU and compares it on Vulkan.
fn nonrecurrent_on_vulkan(name: &'static str, build: impl Fn(&ModelConfig, &Device) -> Model) {
    let vulkan = vulkan_cpu();
    let model = build(&tiny_nonrecurrent_config(), &Device::flex());
    let worst = same_on_vulkan(model, &vulkan);
    println!("{name}: largest relative error {worst:.1e}");
}

#[test]
fn simvp_trains_on_vulkan_as_on_flex() {
    if !vpbench_tests::on_newer_lavapipe("simvp_trains_on_vulkan_as_on_flex") {
        return;
    }
    nonrecurrent_on_vulkan("simvp", |config, device| {
        let net = SimVp::new("simvp", config, &tiny_simvp(), device).unwrap();
        Model::custom("simvp", config.clone(), net)
    });
}

#[test]
fn earthformer_trains_on_vulkan_as_on_flex() {
    if !vpbench_tests::on_newer_lavapipe("earthformer_trains_on_vulkan_as_on_flex") {
        return;
    }
    nonrecurrent_on_vulkan("earthformer", |config, device| {
        let net = Earthformer::new("earthformer", config, &tiny_earthformer(), device).unwrap();
        Model::custom("earthformer", config.clone(), net)
    });
}

#[test]
fn the_vulkan_device_reports_its_adapter_and_driver() {
    if !vpbench_tests::on_newer_lavapipe("the_vulkan_device_reports_its_adapter_and_driver") {
        return;
    }
    let vulkan = vulkan_cpu();
    let adapter = vulkan.adapter.clone().expect("an adapter");
    assert!(!adapter.name.is_empty());
    assert!(!adapter.driver.is_empty(), "{adapter:?}");
    // a CPU driver is no card: NVML cannot watch it, its memory is the process's RSS
    assert!(!vulkan.is_gpu_card(), "{adapter:?}");
    assert_eq!(vpbench_harness::device::mesa_major(&adapter.driver).map(|m| m >= 26), Some(true), "{adapter:?}");
}

/// The lavapipe that crashes on CubeCL's matrix product is refused with one clear error,
/// before any kernel is compiled (this test runs in the `cargo test` process, on the
/// machine's own lavapipe, where that is bookworm's).
#[test]
fn an_old_lavapipe_is_one_clear_error_not_a_crash() {
    use vpbench_harness::device::mesa_major;
    match ComputeDevice::parse("vulkan:cpu") {
        Ok(device) => {
            let driver = device.adapter.as_ref().map(|a| a.driver.clone()).unwrap_or_default();
            assert!(mesa_major(&driver).is_some_and(|m| m >= 26), "{driver} was opened");
            println!("this machine's lavapipe is Mesa 26 or later ({driver}): nothing to refuse");
        }
        Err(e) => {
            let message = format!("{e:#}");
            assert!(message.contains("on-newer-lavapipe.sh") && message.contains("Mesa"), "{message}");
        }
    }
    assert_eq!(mesa_major("llvmpipe: Mesa 22.3.6 (LLVM 15.0.6)"), Some(22));
    assert_eq!(mesa_major("llvmpipe: Mesa 26.1.6-1~bpo13+1 (LLVM 19.1.7)"), Some(26));
}


/// burn's allocator, read after each backward pass, holds at least the parameters, Adam's two
/// moments and the gradients (4 x params x 4 bytes); the reserved peak is at least the in-use
/// one; both are recorded where flex records neither.
#[test]
fn the_allocators_in_use_peak_holds_weights_moments_and_gradients() {
    if !vpbench_tests::on_newer_lavapipe("the_allocators_in_use_peak_holds_weights_moments_and_gradients") {
        return;
    }
    use vpbench_harness::bench::{BenchSteps, bench_model};
    use vpbench_harness::experiment::Experiment;
    let experiment = Experiment::load(std::path::Path::new("../configs/table3.toml")).unwrap();
    let profile = experiment.profile("smoke").unwrap().for_model("ms-lstm");
    let steps = BenchSteps { warmup: 1, timed: 2 };
    let result = bench_model("ms-lstm", &profile, &vulkan_cpu(), steps).unwrap();
    let (in_use, reserved) = (result.memory.pool_in_use_peak_bytes.unwrap(), result.memory.pool_reserved_peak_bytes.unwrap());
    let floor = 4 * result.params as u64 * 4;
    println!("ms-lstm smoke on lavapipe: in-use peak {in_use} B, reserved peak {reserved} B, 4 x params x 4 B = {floor} B, analytic M_all {} B", result.analytic_memory.total_bytes);
    assert!(in_use >= floor, "in-use peak {in_use} < params + moments + gradients {floor}");
    assert!(reserved >= in_use);
    assert!(!result.burn_features.is_empty(), "a CubeCL device names burn's features");

    let flex = ComputeDevice::parse("cpu").unwrap();
    let on_flex = bench_model("ms-lstm", &profile, &flex, steps).unwrap();
    assert_eq!((on_flex.memory.pool_in_use_peak_bytes, on_flex.memory.pool_reserved_peak_bytes), (None, None));
    assert!(on_flex.burn_features.is_empty());
}

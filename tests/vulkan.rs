//! Every registered model trains on burn's Vulkan backend (CubeCL kernels, as on CUDA and
//! every GPU) and computes there what it computes on flex: the forward pass, the loss and every
//! gradient, from the same weights and frames.
//!
//! The device is a CPU Vulkan driver (Mesa's lavapipe: `bash scripts/install-system-deps.sh`).
//! Without one these tests fail and say what to install: they are never skipped silently.

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use vpbench_harness::device::ComputeDevice;
use vpbench_models::earthformer::Earthformer;
use vpbench_models::registry::{self, MODELS};
use vpbench_models::simvp::SimVp;
use vpbench_models::{Feeding, Model, ModelConfig, paper_loss};
use vpbench_tests::{tiny_config, tiny_earthformer, tiny_nonrecurrent_config, tiny_simvp};

/// Float32 kernels on another backend sum in another order: 1e-4 relative, as for the goldens.
const TOLERANCE: f64 = 1e-4;

/// Models whose matrix products of activations or linear layers reach CubeCL's matmul kernel,
/// which Mesa's lavapipe (22.3.6 and 25.0.7, both on LLVM 15) crashes compiling
/// (SIGSEGV in `vkCreateComputePipelines`, any shape; benchmarks/lavapipe-matmul-crash.md).
/// They are skipped on a lavapipe adapter, and each skip is printed.
const LAVAPIPE_MATMUL_CRASH: [&str; 3] = ["cms-lstm", "ms-cms-lstm", "earthformer"];

fn skipped_on(vulkan: &ComputeDevice, model: &str) -> bool {
    let lavapipe = vulkan.is_lavapipe();
    let skip = lavapipe && LAVAPIPE_MATMUL_CRASH.contains(&model);
    if skip {
        println!("SKIPPED {model} on {}: lavapipe crashes compiling CubeCL's matmul kernel", vulkan.adapter_label());
    }
    skip
}

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
    let vulkan = vulkan_cpu();
    let mut checked = Vec::new();
    let mut skipped = 0;
    for entry in MODELS.iter().filter(|e| e.family == "RNN") {
        if skipped_on(&vulkan, entry.name) {
            skipped += 1;
            continue;
        }
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
    assert!(checked.len() + skipped >= 22, "{checked:?}");
    assert!(checked.len() >= 20, "{checked:?}");
}

/// Builds a tiny non-recurrent model on the CPU and compares it on Vulkan.
fn nonrecurrent_on_vulkan(name: &'static str, build: impl Fn(&ModelConfig, &Device) -> Model) {
    let vulkan = vulkan_cpu();
    if skipped_on(&vulkan, name) {
        return;
    }
    let model = build(&tiny_nonrecurrent_config(), &Device::flex());
    let worst = same_on_vulkan(model, &vulkan);
    println!("{name}: largest relative error {worst:.1e}");
}

#[test]
fn simvp_trains_on_vulkan_as_on_flex() {
    nonrecurrent_on_vulkan("simvp", |config, device| {
        let net = SimVp::new("simvp", config, &tiny_simvp(), device).unwrap();
        Model::custom("simvp", config.clone(), net)
    });
}

#[test]
fn earthformer_trains_on_vulkan_as_on_flex() {
    nonrecurrent_on_vulkan("earthformer", |config, device| {
        let net = Earthformer::new("earthformer", config, &tiny_earthformer(), device).unwrap();
        Model::custom("earthformer", config.clone(), net)
    });
}

#[test]
fn the_vulkan_device_reports_its_adapter_and_driver() {
    let vulkan = vulkan_cpu();
    let adapter = vulkan.adapter.clone().expect("an adapter");
    assert!(!adapter.name.is_empty());
    assert!(!adapter.driver.is_empty(), "{adapter:?}");
    // a CPU driver is no card: NVML cannot watch it, its memory is the process's RSS
    assert!(!vulkan.is_gpu_card(), "{adapter:?}");
}


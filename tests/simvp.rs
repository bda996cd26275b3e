//! SimVP v1 behind the same model trait: exact parameter counts, MACs, shapes, gradients,
//! and a training step that lowers the loss.

use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Tensor};
use vpbench_datasets::DatasetKind;
use vpbench_harness::commands::cost::paper_config;
use vpbench_models::cost::cost_report;
use vpbench_models::simvp::{SimVp, SimVpConfig};
use vpbench_models::{Feeding, Model, ModelConfig, paper_loss, registry};

#[test]
fn presets_have_the_reference_parameter_counts_and_macs() {
    let config = paper_config(DatasetKind::MovingMnist, 32);
    let device = Device::flex();
    let paper = cost_report(&registry::build("simvp", &config, &device).unwrap()).unwrap();
    assert_eq!(paper.params, 43_197_569);
    // 17.13 G MACs per sequence (68.5 G at the paper's batch of 4), within 0.5%
    assert!((paper.macs as f64 / 17.13e9 - 1.0).abs() < 0.005, "{}", paper.macs);
    let openstl = registry::build("simvp-openstl", &config, &device).unwrap();
    assert_eq!(openstl.num_params(), 57_761_409);
}

fn tiny() -> (ModelConfig, SimVpConfig) {
    let config = ModelConfig {
        image_channels: 1,
        height: 8,
        width: 8,
        hidden: 0,
        layers: 0,
        kernel: 3,
        in_len: 3,
        out_len: 3,
    };
    let simvp = SimVpConfig {
        hid_s: 4,
        hid_t: 8,
        n_s: 4,
        n_t: 3,
        groups: 2,
        kernels: vec![3, 5],
    };
    (config, simvp)
}

#[test]
fn predicts_the_future_frames_and_trains() {
    let (config, cfg) = tiny();
    let device = Device::flex().autodiff();
    device.seed(3);
    let mut model = Model::custom("simvp-tiny", config.clone(), SimVp::new("simvp-tiny", &config, &cfg, &device).unwrap());
    let frames = Tensor::<5>::random([2, 6, 1, 8, 8], Distribution::Uniform(0.0, 1.0), &device);
    let target = frames.clone().narrow(1, 3, 3);
    let loss_of = |m: &Model| {
        let out = m.forward(frames.clone(), &Feeding::Autoregressive).unwrap();
        assert_eq!(out.predictions.dims(), [2, 3, 1, 8, 8]);
        paper_loss(out.predictions, target.clone())
    };
    let before = loss_of(&model);
    let first = before.clone().into_scalar::<f32>();
    let grads = model.named_gradients(before.backward());
    let nonzero = grads
        .iter()
        .filter(|(_, g)| g.as_ref().is_some_and(|g| g.iter::<f32>().any(|v| v != 0.0 && v.is_finite())))
        .count();
    assert_eq!(nonzero, grads.len(), "every parameter gets a finite, nonzero gradient");
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let grads = model.backward(loss_of(&model));
    model.optimizer_step(&mut optim, 1e-3, grads);
    let after = loss_of(&model).into_scalar::<f32>();
    assert!(after < first, "one step on a fixed batch lowers the loss: {first} -> {after}");
}

#[test]
fn unequal_input_and_output_lengths_are_rejected() {
    let (mut config, cfg) = tiny();
    config.out_len = 4;
    let msg = SimVp::new("simvp", &config, &cfg, &Device::flex()).unwrap_err().to_string();
    assert!(msg.contains("in_len 3 != out_len 4"), "{msg}");
}

//! SimVP v1 and Earthformer behind the same model trait: exact parameter counts, MACs,
//! shapes, gradients, and a training step that lowers the loss.

use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Tensor};
use vpbench_datasets::moving_mnist::MovingMnist;
use vpbench_harness::commands::cost::paper_config;
use vpbench_models::cost::cost_report;
use vpbench_models::earthformer::Earthformer;
use vpbench_models::simvp::{SimVp, SimVpConfig};
use vpbench_models::{Feeding, Model, ModelConfig, paper_loss, registry};
use vpbench_tests::{tiny_earthformer, tiny_nonrecurrent_config, tiny_simvp};

#[test]
fn presets_have_the_reference_parameter_counts_and_macs() {
    let config = paper_config(&MovingMnist, 32);
    let device = Device::flex();
    let paper = cost_report(&registry::build("simvp", &config, &device).unwrap()).unwrap();
    assert_eq!(paper.params, 43_197_569);
    // 17.13 G MACs per sequence (68.5 G at the paper's batch of 4), within 0.5%
    assert!(
        (paper.macs as f64 / 17.13e9 - 1.0).abs() < 0.005,
        "{}",
        paper.macs
    );
    let openstl = registry::build("simvp-openstl", &config, &device).unwrap();
    assert_eq!(openstl.num_params(), 57_761_409);
}

#[test]
fn earthformer_has_the_reference_parameter_count_and_macs() {
    let config = paper_config(&MovingMnist, 32);
    let cost =
        cost_report(&registry::build("earthformer", &config, &Device::flex()).unwrap()).unwrap();
    assert_eq!(cost.params, 6_702_109);
    // 32.51 G MACs per sequence (519.5 G at the paper's batch of 16), within 0.5%
    assert!(
        (cost.macs as f64 / 32.51e9 - 1.0).abs() < 0.005,
        "{}",
        cost.macs
    );
    // the attention products are counted, and reported apart
    assert!(cost.macs_breakdown.matmul > 1_000_000_000);
}

/// Trains one step on a fixed batch; checks shapes, gradients and that the loss falls.
fn trains(
    name: &'static str,
    config: &ModelConfig,
    build: impl Fn(&burn::tensor::Device) -> Model,
) {
    let device = Device::flex().autodiff();
    device.seed(3);
    let mut model = build(&device);
    let s = config.seq_len();
    let frames = Tensor::<5>::random(
        [2, s, 1, config.height, config.width],
        Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let target = frames.clone().narrow(1, config.in_len, config.out_len);
    let loss_of = |m: &Model| {
        let out = m.forward(frames.clone(), &Feeding::Autoregressive).unwrap();
        assert_eq!(
            out.predictions.dims(),
            [2, config.out_len, 1, config.height, config.width],
            "{name}"
        );
        paper_loss(out.predictions, target.clone())
    };
    let before = loss_of(&model);
    let first = before.clone().into_scalar::<f32>();
    let grads = model.named_gradients(before.backward());
    let missing: Vec<_> = grads
        .iter()
        .filter(|(_, g)| {
            !g.as_ref()
                .is_some_and(|g| g.iter::<f32>().any(|v| v != 0.0 && v.is_finite()))
        })
        .map(|(p, _)| p.name.clone())
        .collect();
    assert!(
        missing.is_empty(),
        "{name}: parameters without a gradient: {missing:?}"
    );
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let grads = model.backward(loss_of(&model));
    // small enough that the first-order decrease dominates whatever the (seeded, but shared) init
    model.optimizer_step(&mut optim, 1e-5, grads);
    let after = loss_of(&model).into_scalar::<f32>();
    assert!(
        after < first,
        "{name}: one step on a fixed batch lowers the loss: {first} -> {after}"
    );
}

#[test]
fn earthformer_predicts_the_future_frames_and_trains() {
    let config = ModelConfig {
        in_len: 3,
        out_len: 4,
        ..tiny().0
    };
    let cfg = tiny_earthformer();
    trains("earthformer-tiny", &config, |device| {
        Model::custom(
            "earthformer-tiny",
            config.clone(),
            Earthformer::new("earthformer", &config, &cfg, device).unwrap(),
        )
    });
}

fn tiny() -> (ModelConfig, SimVpConfig) {
    (tiny_nonrecurrent_config(), tiny_simvp())
}

#[test]
fn simvp_predicts_the_future_frames_and_trains() {
    let (config, cfg) = tiny();
    trains("simvp-tiny", &config, |device| {
        Model::custom(
            "simvp-tiny",
            config.clone(),
            SimVp::new("simvp", &config, &cfg, device).unwrap(),
        )
    });
}

#[test]
fn unequal_input_and_output_lengths_are_rejected() {
    let (mut config, cfg) = tiny();
    config.out_len = 4;
    let msg = SimVp::new("simvp", &config, &cfg, &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("in_len 3 != out_len 4"), "{msg}");
}

//! Data-parallel training steps: shards on several devices give the whole batch's gradients.
//! (flex has one CPU device; several handles to it run the same code path as several GPUs.)

use burn::tensor::{Device, Distribution, Tensor};
use vpbench_harness::data_parallel::step_gradients;
use vpbench_harness::device::ComputeDevice;
use vpbench_harness::experiment::LossKind;
use vpbench_models::{Feeding, registry};

use vpbench_tests::tiny_config as config;

#[test]
fn sharded_gradients_sum_to_the_whole_batch_gradients() {
    let device = Device::flex().autodiff();
    device.seed(5);
    for name in ["convlstm", "ms-lstm", "predrnn-v2"] {
        let model = registry::build(name, &config(), &device).unwrap();
        let frames = Tensor::<5>::random([5, 5, 1, 8, 8], Distribution::Uniform(0.0, 1.0), &device);
        // per-sample masks, so that each shard must get its own samples' masks
        let row = vec![true, false, true, true, false];
        let feeding = if name == "predrnn-v2" {
            Feeding::Reverse {
                masks: vec![row; 3],
            }
        } else {
            Feeding::Scheduled {
                masks: vec![row; 2],
            }
        };
        let (whole, g1) =
            step_gradients(&model, &[], frames.clone(), &feeding, LossKind::L2L1Sum).unwrap();
        let three = vec![device.clone(), device.clone(), device.clone()];
        let (split, g3) =
            step_gradients(&model, &three, frames, &feeding, LossKind::L2L1Sum).unwrap();
        assert!(
            (whole - split).abs() <= 1e-5 * whole.abs(),
            "{name}: loss {whole} vs {split}"
        );
        let mut compared = 0;
        for p in model.named_params() {
            let (a, b) = match p.shape.len() {
                1 => (
                    g1.get::<1>(p.id).map(|t| t.into_data()),
                    g3.get::<1>(p.id).map(|t| t.into_data()),
                ),
                4 => (
                    g1.get::<4>(p.id).map(|t| t.into_data()),
                    g3.get::<4>(p.id).map(|t| t.into_data()),
                ),
                _ => continue,
            };
            assert_eq!(a.is_some(), b.is_some(), "{name}: {}", p.name);
            let (Some(a), Some(b)) = (a, b) else { continue };
            let (a, b) = (
                a.try_into_vec::<f32>().unwrap(),
                b.try_into_vec::<f32>().unwrap(),
            );
            let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
            let worst = a
                .iter()
                .zip(&b)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                worst <= 1e-4 * scale,
                "{name}: {} differs by {worst} (scale {scale})",
                p.name
            );
            compared += 1;
        }
        assert!(compared >= 10, "{name}: only {compared} gradients compared");
    }
}

#[test]
fn a_device_list_means_data_parallel_over_those_devices() {
    let d = ComputeDevice::parse("cpu,cpu").unwrap();
    assert_eq!(d.data_parallel.len(), 2);
    assert!(
        d.backend.contains("data parallel over 2 devices"),
        "{}",
        d.backend
    );
    assert!(
        ComputeDevice::parse("cpu")
            .unwrap()
            .data_parallel
            .is_empty()
    );
    let e = ComputeDevice::parse("cpu,tpu:1").err().unwrap().to_string();
    assert!(e.contains("tpu:1"), "{e}");
}

#[test]
fn the_shards_of_a_step_run_at_the_same_time() {
    use vpbench_harness::data_parallel::step_gradients_timed;
    let device = Device::flex().autodiff();
    device.seed(6);
    let model = registry::build("convlstm", &config(), &device).unwrap();
    let frames = Tensor::<5>::random([4, 5, 1, 8, 8], Distribution::Uniform(0.0, 1.0), &device);
    let two = vec![device.clone(), device.clone()];
    let step = step_gradients_timed(&model, &two, frames, &Feeding::Autoregressive, LossKind::L2L1Sum)
        .unwrap();
    let spans = &step.shard_spans;
    assert_eq!(spans.len(), 2);
    // each shard started before the other one ended: their executions overlap in time
    let latest_start = spans.iter().map(|s| s.0).max().unwrap();
    let earliest_end = spans.iter().map(|s| s.1).min().unwrap();
    assert!(
        latest_start < earliest_end,
        "shards ran one after another: {spans:?}"
    );
}

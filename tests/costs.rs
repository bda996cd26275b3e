//! Parameters and MACs at the paper's configuration against the authors' own counts
//! (../shared/paper/reference_costs_mmnist.csv): params exact, MACs within 0.1%.

use burn::tensor::Device;
use vpbench_datasets::DatasetKind;
use vpbench_harness::commands::cost::paper_config;
use vpbench_models::cost::{cost_report, count_macs};
use vpbench_models::registry;
use vpbench_tests::paper_file;

#[derive(serde::Deserialize)]
struct ReferenceCost {
    id: String,
    reference_name: String,
    params: usize,
    macs_per_sequence: u64,
}

fn references() -> Vec<ReferenceCost> {
    let path = paper_file("reference_costs_mmnist.csv");
    csv::Reader::from_path(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn implemented_models_match_the_authors_counts() {
    let config = paper_config(DatasetKind::MovingMnist, 32);
    let device = Device::flex();
    let mut checked = Vec::new();
    for r in references() {
        let Ok(entry) = registry::lookup(&r.id) else {
            continue;
        };
        let model = registry::build(entry.name, &config, &device).unwrap();
        let cost = cost_report(&model).unwrap();
        assert_eq!(
            cost.params, r.params,
            "{} ({}) params",
            r.id, r.reference_name
        );
        let rel =
            (cost.macs as f64 - r.macs_per_sequence as f64).abs() / r.macs_per_sequence as f64;
        assert!(
            rel < 1e-3,
            "{} MACs {} vs reference {} ({:.4}% off)",
            r.id,
            cost.macs,
            r.macs_per_sequence,
            rel * 100.0
        );
        checked.push(entry.name);
    }
    for required in ["convlstm", "sms-lstm", "tms-lstm", "ms-lstm"] {
        assert!(checked.contains(&required), "{required} not checked");
    }
}

#[test]
fn the_four_ablation_models_count_exactly() {
    // The closed forms of spec section 16 are exact for these four.
    let config = paper_config(DatasetKind::MovingMnist, 32);
    let device = Device::flex();
    for (name, params, macs) in [
        ("convlstm", 444_001, 34_431_827_968u64),
        ("sms-lstm", 444_001, 15_100_968_960),
        ("tms-lstm", 1_896_097, 147_275_382_784),
        ("ms-lstm", 1_896_097, 64_470_024_192),
    ] {
        let model = registry::build(name, &config, &device).unwrap();
        let cost = cost_report(&model).unwrap();
        assert_eq!((cost.params, cost.macs), (params, macs), "{name}");
    }
}

#[test]
fn macs_scale_with_batch_and_params_do_not_depend_on_frame_size() {
    let device = Device::flex();
    let mmnist = paper_config(DatasetKind::MovingMnist, 32);
    let taxibj = paper_config(DatasetKind::TaxiBj, 32);
    let a = registry::build("ms-lstm", &mmnist, &device).unwrap();
    let b = registry::build("ms-lstm", &taxibj, &device).unwrap();
    assert_eq!(a.num_params(), b.num_params());
    let one = count_macs(&a, 1).unwrap();
    let three = count_macs(&a, 3).unwrap();
    assert_eq!(three.paper(), 3 * one.paper());
    // the pyramid's two bilinear upsamples: 11 x C x (H/2*W/2 + H*W) per step
    let steps = mmnist.steps() as u64;
    assert_eq!(one.upsample, 11 * 32 * (32 * 32 + 64 * 64) * steps);
    assert_eq!(one.matmul, 0);
}

/// The paper's Table 4 prints params to 0.1 M and FLOPs to 0.1 G: the counts round to them.
#[test]
fn table4_cost_columns_match_the_paper_to_its_printed_precision() {
    let path = vpbench_tests::paper_file("table4_cost_mmnist.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let config = paper_config(DatasetKind::MovingMnist, 32);
    let device = Device::flex();
    let mut rows = 0;
    for row in reader.records() {
        let row = row.unwrap();
        let (name, params_m, flops_g): (&str, f64, f64) =
            (&row[0], row[1].parse().unwrap(), row[3].parse().unwrap());
        let model = registry::build(name, &config, &device).unwrap();
        let cost = cost_report(&model).unwrap();
        assert_eq!(
            format!("{:.1}", cost.params as f64 / 1e6),
            format!("{params_m:.1}"),
            "{name} params"
        );
        assert_eq!(
            format!("{:.1}", cost.macs as f64 / 1e9),
            format!("{flops_g:.1}"),
            "{name} FLOPs"
        );
        rows += 1;
    }
    assert_eq!(rows, 7);
}

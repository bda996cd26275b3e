//! Every model reproduces the authors' PyTorch outputs, loss and gradients (relative error
//! under 1e-4) at the golden files' small sizes.

use burn::tensor::Device;
use vpbench_models::golden::{GoldenOutcome, verify_golden};
use vpbench_tests::golden_file;

const TOLERANCE: f64 = 1e-4;

fn check(id: &str) {
    let report = verify_golden(&golden_file(id), &Device::flex()).unwrap_or_else(|e| panic!("{id}: {e}"));
    let GoldenOutcome::Checked { errors } = &report.outcome else {
        panic!("{id}: skipped: {:?}", report.outcome);
    };
    // the output, the loss and one gradient per state-dict entry
    let keys = std::fs::read_to_string(
        golden_file(id)
            .with_extension("")
            .parent()
            .unwrap()
            .join("../keys")
            .join(format!("{id}.txt")),
    )
    .map(|k| {
        k.lines()
            // parameters only: buffers (Earthformer's relative_position_index) have no gradient
            .filter(|l| !l.starts_with('#') && !l.starts_with("key") && !l.trim().is_empty())
            .filter(|l| !l.split_whitespace().any(|w| w == "buffer"))
            .count()
    })
    .unwrap_or_else(|e| panic!("{id}: key list: {e}"));
    assert_eq!(errors.len(), 2 + keys, "{id}: compared tensors");
    for e in errors {
        assert!(
            e.relative_error <= TOLERANCE,
            "{id}: {} relative error {:e} > {TOLERANCE:e}",
            e.name,
            e.relative_error
        );
    }
}

macro_rules! golden_tests {
    ($($test:ident => $id:literal),* $(,)?) => {
        $(#[test] fn $test() { check($id); })*
    };
}

golden_tests! {
    convlstm => "convlstm",
    trajgru => "trajgru",
    predrnn => "predrnn",
    predrnn_pp => "predrnn-pp",
    predrnn_v2 => "predrnn-v2",
    mim => "mim",
    motionrnn => "motionrnn",
    preciplstm => "preciplstm",
    cms_lstm => "cms-lstm",
    modernn => "modernn",
    sms_lstm => "ms-convlstm",
    tms_lstm => "mk-lstm",
    ms_lstm => "ms-lstm",
    // built from the official constructor's arguments, MSE on the future frames
    simvp => "simvp",
    earthformer => "earthformer",
    ms_trajgru => "ms-trajgru",
    ms_predrnn => "ms-predrnn",
    ms_predrnn_pp => "ms-predrnn-pp",
    ms_predrnn_v2 => "ms-predrnn-v2",
    ms_mim => "ms-mim",
    ms_motionrnn => "ms-motionrnn",
    ms_preciplstm => "ms-preciplstm",
    ms_cms_lstm => "ms-cms-lstm",
    ms_modernn => "ms-modernn",
}

#[test]
fn every_public_golden_file_has_a_test() {
    let dir = golden_file("convlstm").parent().unwrap().to_path_buf();
    let tested = include_str!("golden.rs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let id = entry
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(
            tested.contains(&format!("=> \"{id}\"")),
            "no golden test for {id}"
        );
    }
}

//! The four models of the foundation reproduce the authors' PyTorch outputs, loss and
//! gradients (relative error under 1e-4) at the golden files' small sizes.

use vpbench_models::golden::{GoldenOutcome, verify_golden};
use vpbench_tests::golden_file;

const TOLERANCE: f64 = 1e-4;

fn check(id: &str, expected_tensors: usize) {
    let report = verify_golden(&golden_file(id)).unwrap_or_else(|e| panic!("{id}: {e}"));
    let GoldenOutcome::Checked { errors } = &report.outcome else {
        panic!("{id}: skipped: {:?}", report.outcome);
    };
    // outputs + loss + one gradient per parameter tensor
    assert_eq!(errors.len(), expected_tensors, "{id}: compared tensors");
    for e in errors {
        assert!(
            e.relative_error <= TOLERANCE,
            "{id}: {} relative error {:e} > {TOLERANCE:e}",
            e.name,
            e.relative_error
        );
    }
}

#[test]
fn convlstm_matches_reference() {
    check("convlstm", 2 + 4 + 6 * 4);
}

#[test]
fn sms_lstm_matches_reference() {
    check("ms-convlstm", 2 + 4 + 6 * 4);
}

#[test]
fn tms_lstm_matches_reference() {
    check("mk-lstm", 2 + 4 + 6 * 14);
}

#[test]
fn ms_lstm_matches_reference() {
    check("ms-lstm", 2 + 4 + 6 * 14);
}

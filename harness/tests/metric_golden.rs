//! The harness's metrics reproduce the authors' evaluation pipeline number for number on the
//! public metric golden files, and the check notices a value that is off by 1e-5.

use std::collections::HashMap;
use std::path::PathBuf;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use vpbench_harness::metric_golden::verify_metric_golden;

fn metric_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden/metrics").join(format!("{name}.safetensors"))
}

const PUBLIC: [&str; 4] = ["moving-mnist-20", "taxiBJ", "kth", "DWD"];

#[test]
fn every_public_metric_file_matches_the_authors_pipeline() {
    for name in PUBLIC {
        let report = verify_metric_golden(&metric_file(name)).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        // per frame and reported: 7 errors, 4 scores; 4 counters, the thresholds, the loss
        assert_eq!(report.checks.len(), 7 * 2 + 4 * 2 + 4 + 2, "{name}: compared quantities");
        for check in &report.checks {
            assert!(check.passed(), "{name}: {check:?}");
        }
    }
}

/// A copy of `name` with entry `at` of `key` (f64) multiplied by `factor`.
fn perturbed_copy(name: &str, key: &str, at: usize, factor: f64) -> tempfile_path::TempCopy {
    let bytes = std::fs::read(metric_file(name)).unwrap();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut data: HashMap<String, (Dtype, Vec<usize>, Vec<u8>)> = tensors
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    let entry = &mut data.get_mut(key).unwrap().2[at * 8..(at + 1) * 8];
    let value = f64::from_le_bytes(entry.try_into().unwrap()) * factor;
    entry.copy_from_slice(&value.to_le_bytes());
    let views: Vec<(String, TensorView)> =
        data.iter().map(|(k, (d, s, b))| (k.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    let out = safetensors::serialize(views, header.metadata().clone()).unwrap();
    tempfile_path::TempCopy::write(name, &out)
}

#[test]
fn a_reference_value_off_by_1e5_fails_and_is_named() {
    let copy = perturbed_copy("moving-mnist-20", "metric.mse", 3, 1.0 + 1e-5);
    let report = verify_metric_golden(&copy.path).unwrap();
    assert!(!report.passed());
    let failed: Vec<&str> = report.checks.iter().filter(|c| !c.passed()).map(|c| c.name.as_str()).collect();
    assert_eq!(failed, ["metric.mse"]);
}

#[test]
fn a_nan_where_the_score_is_defined_fails() {
    // frame 0 at 0.5 mm/h: every DWD frame has events at that threshold
    let copy = perturbed_copy("DWD", "metric.csi", 0, f64::NAN);
    let report = verify_metric_golden(&copy.path).unwrap();
    let csi = report.checks.iter().find(|c| c.name == "metric.csi").unwrap();
    assert!(csi.mismatch.as_deref().is_some_and(|m| m.contains("entry 0")), "{csi:?}");
}

/// A file under the system's temporary directory, removed when dropped.
mod tempfile_path {
    use std::path::PathBuf;

    pub struct TempCopy {
        pub path: PathBuf,
    }

    impl TempCopy {
        pub fn write(name: &str, bytes: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("vpbench-metric-{name}-{}.safetensors", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            Self { path }
        }
    }

    impl Drop for TempCopy {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

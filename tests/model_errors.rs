//! Bad input gives a clear error that names the model, file, key or dimension; no panic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use vpbench_models::golden::{GoldenOutcome, verify_golden};
use vpbench_models::{Feeding, ModelConfig, ModelError, registry};
use vpbench_tests::golden_file;

fn tiny(height: usize, width: usize) -> ModelConfig {
    ModelConfig {
        image_channels: 1,
        height,
        width,
        hidden: 4,
        layers: 6,
        kernel: 3,
        in_len: 2,
        out_len: 2,
    }
}

#[test]
fn unknown_model_names_the_model_and_lists_known_ones() {
    let err = registry::build("convlstn", &tiny(8, 8), &Device::flex()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::UnknownModel { .. }));
    assert!(
        msg.contains("'convlstn'") && msg.contains("ms-lstm"),
        "{msg}"
    );
}

#[test]
fn authors_names_are_aliases() {
    for (alias, name) in [
        ("MS-ConvLSTM", "sms-lstm"),
        ("MK-LSTM", "tms-lstm"),
        ("MS-LSTM", "ms-lstm"),
        ("ConvLSTM", "convlstm"),
        ("SMS-LSTM", "sms-lstm"),
    ] {
        assert_eq!(registry::lookup(alias).unwrap().name, name);
    }
}

#[test]
fn pyramid_rejects_sizes_it_cannot_halve_twice() {
    for (h, w, field) in [(10, 8, "height"), (8, 6, "width")] {
        let err = registry::build("ms-lstm", &tiny(h, w), &Device::flex()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("ms-lstm") && msg.contains(field), "{msg}");
    }
    // a stack has no such constraint
    registry::build("convlstm", &tiny(10, 6), &Device::flex()).unwrap();
}

#[test]
fn pyramid_needs_six_layers() {
    let mut c = tiny(8, 8);
    c.layers = 4;
    let msg = registry::build("sms-lstm", &c, &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("layers") && msg.contains('6'), "{msg}");
}

#[test]
fn misshapen_frames_name_the_dimension() {
    let device = Device::flex();
    let model = registry::build("convlstm", &tiny(8, 8), &device).unwrap();
    let frames = Tensor::<5>::zeros([1, 4, 1, 8, 9], &device);
    let msg = model
        .forward(frames, &Feeding::Autoregressive)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("width") && msg.contains('9') && msg.contains('8'),
        "{msg}"
    );
}

#[test]
fn feeding_masks_of_the_wrong_count_are_rejected() {
    let device = Device::flex();
    let model = registry::build("convlstm", &tiny(8, 8), &device).unwrap();
    let frames = Tensor::<5>::zeros([2, 4, 1, 8, 8], &device);
    let feeding = Feeding::Scheduled {
        masks: vec![vec![true, false]; 3],
    };
    let msg = model.forward(frames, &feeding).unwrap_err().to_string();
    assert!(
        msg.contains("3 masks") && msg.contains("out_len - 1 = 1"),
        "{msg}"
    );
}

/// Copies a golden file with some tensors dropped or replaced and metadata changed.
fn doctored(
    name: &str,
    drop: &str,
    replace: Option<(&str, Vec<usize>)>,
    meta: &[(&str, Option<&str>)],
) -> PathBuf {
    let bytes = std::fs::read(golden_file("convlstm")).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut metadata: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
    for (k, v) in meta {
        match v {
            Some(v) => metadata.insert(k.to_string(), v.to_string()),
            None => metadata.remove(*k),
        };
    }
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let replacement_bytes: Option<(String, Vec<usize>, Vec<u8>)> = replace.map(|(k, shape)| {
        let n: usize = shape.iter().product();
        (k.to_string(), shape, vec![0u8; 4 * n])
    });
    let mut views: Vec<(String, TensorView<'_>)> = Vec::new();
    for (k, v) in st.tensors() {
        if k == drop {
            continue;
        }
        if let Some((rk, shape, data)) = &replacement_bytes
            && *rk == k
        {
            views.push((k, TensorView::new(Dtype::F32, shape.clone(), data).unwrap()));
            continue;
        }
        views.push((k, v));
    }
    let dir = std::env::temp_dir().join(format!("vpbench-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    safetensors::serialize_to_file(views, Some(metadata), &path).unwrap();
    path
}

fn error_of(path: &Path) -> String {
    verify_golden(path, &Device::flex()).unwrap_err().to_string()
}

#[test]
fn golden_file_missing_a_parameter_names_file_and_key() {
    let path = doctored(
        "missing-param.safetensors",
        "param.rnns.lstm.3._conv_h2h.weight",
        None,
        &[],
    );
    let msg = error_of(&path);
    assert!(msg.contains("missing-param.safetensors"), "{msg}");
    assert!(
        msg.contains("rnns.lstm.3._conv_h2h.weight") && msg.contains("missing"),
        "{msg}"
    );
}

#[test]
fn golden_file_with_misshapen_parameter_names_key_and_shapes() {
    let path = doctored(
        "bad-shape.safetensors",
        "",
        Some(("param.rnns.lstm.0._conv_x2h.weight", vec![32, 8, 5, 5])),
        &[],
    );
    let msg = error_of(&path);
    assert!(msg.contains("bad-shape.safetensors"), "{msg}");
    assert!(msg.contains("rnns.lstm.0._conv_x2h.weight"), "{msg}");
}

#[test]
fn golden_file_with_misshapen_frames_names_the_tensor() {
    let path = doctored(
        "bad-frames.safetensors",
        "",
        Some(("frames", vec![2, 7, 1, 16, 16])),
        &[],
    );
    let msg = error_of(&path);
    assert!(
        msg.contains("'frames'")
            && msg.contains("[2, 8, 1, 16, 16]")
            && msg.contains("[2, 7, 1, 16, 16]"),
        "{msg}"
    );
}

#[test]
fn golden_file_without_a_gradient_names_it() {
    let path = doctored("no-grad.safetensors", "grad.fc.conv_fc.bias", None, &[]);
    let msg = error_of(&path);
    assert!(
        msg.contains("grad.fc.conv_fc.bias") && msg.contains("missing"),
        "{msg}"
    );
}

#[test]
fn golden_file_with_bad_metadata_names_the_field() {
    let path = doctored(
        "bad-meta.safetensors",
        "",
        None,
        &[("hidden", Some("eight"))],
    );
    let msg = error_of(&path);
    assert!(msg.contains("'hidden'") && msg.contains("eight"), "{msg}");
    let path = doctored("no-meta.safetensors", "", None, &[("in_len", None)]);
    assert!(error_of(&path).contains("'in_len' is missing"));
}

#[test]
fn golden_file_of_an_unknown_model_is_skipped() {
    let path = doctored(
        "unknown.safetensors",
        "",
        None,
        &[
            ("model_name", Some("NotAModel")),
            ("id", Some("not-a-model")),
        ],
    );
    let report = verify_golden(&path, &Device::flex()).unwrap();
    assert!(matches!(report.outcome, GoldenOutcome::Skipped { .. }));
}

#[test]
fn a_file_that_is_not_safetensors_is_named() {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "vpbench-not-safetensors-{}.safetensors",
        std::process::id()
    ));
    std::fs::write(&path, b"hello").unwrap();
    let msg = error_of(&path);
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("not a safetensors"),
        "{msg}"
    );
}

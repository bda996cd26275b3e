//! Checks a model against reference tensors exported from the authors' PyTorch code.
//!
//! A golden file (safetensors) holds `frames`, `expected` (eval-mode outputs), `loss`,
//! `param.<name>` (the state dict) and `grad.<name>` (d loss / d param), with the
//! configuration in its metadata.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};
use serde::Serialize;

use crate::{Feeding, ModelConfig, ModelError, paper_loss, registry};

/// The relative error of one compared tensor: `||got - want|| / ||want||`.
#[derive(Clone, Debug, Serialize)]
pub struct TensorError {
    pub name: String,
    pub relative_error: f64,
    /// The reference norm was below the noise floor (a gradient that is mathematically zero),
    /// so the error is relative to the model's largest gradient norm.
    pub floored: bool,
}

/// A reference gradient whose norm is below `GRADIENT_FLOOR x` the model's largest gradient
/// norm is float32 noise: analytically zero (CMS-LSTM's key biases cancel in the softmax,
/// norms around 1e-11; Earthformer's stem and head convolution biases are cancelled by a
/// GroupNorm of one channel per group, NONRECURRENT.md), where a relative error would compare
/// noise with noise. Such a gradient is compared relative to the largest gradient norm,
/// every other one relative to its own.
pub const GRADIENT_FLOOR: f64 = 1e-5;

/// What checking one golden file found.
#[derive(Clone, Debug, Serialize)]
pub enum GoldenOutcome {
    /// The file's model is not implemented here.
    Skipped { reason: String },
    /// Outputs, loss and every gradient, compared.
    Checked { errors: Vec<TensorError> },
}

#[derive(Clone, Debug, Serialize)]
pub struct GoldenReport {
    pub file: PathBuf,
    pub model_name: String,
    pub outcome: GoldenOutcome,
}

impl GoldenReport {
    /// The largest relative error, or `None` if the file was skipped.
    pub fn max_error(&self) -> Option<f64> {
        match &self.outcome {
            GoldenOutcome::Skipped { .. } => None,
            GoldenOutcome::Checked { errors } => {
                Some(errors.iter().map(|e| e.relative_error).fold(0.0, f64::max))
            }
        }
    }

    /// Passed: checked, and every error within `tolerance` (NaN fails).
    pub fn passed(&self, tolerance: f64) -> bool {
        self.max_error().is_some_and(|e| e <= tolerance)
    }
}

/// A reference safetensors file read into memory: its string metadata and its tensors, each
/// error naming the file and the field (also the harness's metric golden files).
pub struct GoldenFile {
    pub path: PathBuf,
    bytes: Vec<u8>,
    meta: HashMap<String, String>,
}

impl GoldenFile {
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let bytes =
            std::fs::read(path).map_err(|e| ModelError::file(path, format!("cannot read: {e}")))?;
        let (_, metadata) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| ModelError::file(path, format!("not a safetensors file: {e}")))?;
        let meta = metadata.metadata().clone().unwrap_or_default();
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
            meta,
        })
    }

    pub fn meta(&self, key: &str) -> Result<&str, ModelError> {
        self.meta.get(key).map(String::as_str).ok_or_else(|| {
            ModelError::file(&self.path, format!("metadata field '{key}' is missing"))
        })
    }

    pub fn meta_usize(&self, key: &str) -> Result<usize, ModelError> {
        let raw = self.meta(key)?;
        raw.parse().map_err(|_| {
            ModelError::file(
                &self.path,
                format!("metadata field '{key}' should be a non-negative integer, found '{raw}'"),
            )
        })
    }

    pub fn config(&self) -> Result<ModelConfig, ModelError> {
        Ok(ModelConfig {
            image_channels: self.meta_usize("C")?,
            height: self.meta_usize("H")?,
            width: self.meta_usize("W")?,
            hidden: self.meta_usize("hidden")?,
            layers: self.meta_usize("layers")?,
            kernel: self.meta_usize("kernel")?,
            in_len: self.meta_usize("in_len")?,
            out_len: self.meta_usize("out_len")?,
        })
    }

    /// The little-endian bytes of tensor `key`, checking its dtype and shape.
    pub fn raw(&self, key: &str, dtype: Dtype, shape: &[usize]) -> Result<Vec<u8>, ModelError> {
        let tensors = SafeTensors::deserialize(&self.bytes)
            .map_err(|e| ModelError::file(&self.path, format!("not a safetensors file: {e}")))?;
        let view = tensors.tensor(key).map_err(|_| ModelError::tensor(&self.path, key, "missing from the file"))?;
        if view.dtype() != dtype || view.shape() != shape {
            return Err(ModelError::tensor(
                &self.path,
                key,
                format!("expected {dtype:?} {shape:?}, found {:?} {:?}", view.dtype(), view.shape()),
            ));
        }
        Ok(view.data().to_vec())
    }

    /// Reads float32 tensor `key`, checking its shape if `shape` is given.
    pub fn tensor(&self, key: &str, shape: Option<&[usize]>) -> Result<TensorData, ModelError> {
        let tensors = SafeTensors::deserialize(&self.bytes)
            .map_err(|e| ModelError::file(&self.path, format!("not a safetensors file: {e}")))?;
        let view = tensors
            .tensor(key)
            .map_err(|_| ModelError::tensor(&self.path, key, "missing from the file"))?;
        if view.dtype() != Dtype::F32 {
            return Err(ModelError::tensor(
                &self.path,
                key,
                format!("expected dtype F32, found {:?}", view.dtype()),
            ));
        }
        if let Some(want) = shape
            && view.shape() != want
        {
            return Err(ModelError::tensor(
                &self.path,
                key,
                format!("expected shape {want:?}, found {:?}", view.shape()),
            ));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(TensorData::new(values, view.shape().to_vec()))
    }
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|&w| (w as f64).powi(2)).sum::<f64>().sqrt()
}

/// `||got - want|| / max(||want||, floor)` in f64 (the plain difference norm where both
/// the reference and the floor are zero).
pub fn relative_error_with_floor(got: &[f32], want: &[f32], floor: f64) -> f64 {
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    let diff: f64 = got
        .iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    let scale = norm(want).max(floor);
    if scale > 0.0 { diff / scale } else { diff }
}

/// `||got - want|| / ||want||` in f64.
pub fn relative_error(got: &[f32], want: &[f32]) -> f64 {
    relative_error_with_floor(got, want, 0.0)
}

fn values(data: &TensorData) -> Vec<f32> {
    data.try_to_vec::<f32>().expect("model tensors are float32")
}

/// Builds the file's model on `device` (any backend; autodiff is added here), loads its
/// weights, runs the evaluation forward pass, the loss and its gradients, and compares each
/// with the file; then compares the outputs once more through the test pass's forward
/// (no autodiff: every evaluation-only kernel), [`EVALUATION_OUTPUTS`].
///
/// Two kinds of file: the recurrent models' (configured by `hidden`, `layers`, `kernel`;
/// all S-1 outputs; the authors' L2 + L1 loss) and the official non-recurrent code's
/// (`model_kwargs`, the constructor's arguments; the `out_len` future frames; MSE).
pub fn verify_golden(path: &Path, device: &Device) -> Result<GoldenReport, ModelError> {
    let file = GoldenFile::open(path)?;
    let model_name = file.meta("model_name")?.to_string();
    let id = file.meta("id").unwrap_or(&model_name).to_string();
    let Ok(entry) = registry::lookup(&id).or_else(|_| registry::lookup(&model_name)) else {
        return Ok(GoldenReport {
            file: path.to_path_buf(),
            model_name: model_name.clone(),
            outcome: GoldenOutcome::Skipped { reason: format!("model '{model_name}' is not implemented") },
        });
    };
    let device = device.clone().autodiff();
    let errors = if file.meta.contains_key("model_kwargs") {
        check_official(&file, entry.name, &device)?
    } else {
        check_recurrent(&file, entry.name, &device)?
    };
    Ok(GoldenReport { file: path.to_path_buf(), model_name, outcome: GoldenOutcome::Checked { errors } })
}

/// A recurrent model: outputs for all S-1 frames, the authors' loss (plus the model's own
/// auxiliary loss), gradients.
fn check_recurrent(file: &GoldenFile, name: &str, device: &Device) -> Result<Vec<TensorError>, ModelError> {
    let config = file.config()?;
    let batch = file.meta_usize("batch")?;
    let (c, h, w, s) = (config.image_channels, config.height, config.width, config.seq_len());
    let mut model = registry::build(name, &config, device)?;
    model.load_pytorch_safetensors(&file.path, "param.")?;
    let frames = Tensor::<5>::from_data(file.tensor("frames", Some(&[batch, s, c, h, w]))?, device);
    let expected = file.tensor("expected", Some(&[batch, s - 1, c, h, w]))?;
    let output = model.forward(frames.clone(), &Feeding::Autoregressive)?;
    let mut loss = paper_loss(output.predictions.clone(), frames.clone().narrow(1, 1, s - 1));
    if let Some(aux) = output.aux_loss {
        loss = loss + aux;
    }
    let eval = evaluation_outputs(&model, &frames)?;
    let mut errors = compare_all(file, &model, output.predictions, expected.clone(), loss)?;
    errors.push(output_error(EVALUATION_OUTPUTS, eval, &expected));
    Ok(errors)
}

/// The name of the evaluation path's outputs among a report's errors.
pub const EVALUATION_OUTPUTS: &str = "expected (evaluation path)";

/// The outputs of the exact forward the test pass runs (`harness/src/run/test.rs`): the
/// model without autodiff, where flex takes its evaluation-only kernels.
fn evaluation_outputs(model: &crate::Model, frames: &Tensor<5>) -> Result<Tensor<5>, ModelError> {
    let eval = model.without_autodiff();
    let frames = Tensor::<5>::from_data(frames.to_data(), &eval.device());
    Ok(eval.forward(frames, &Feeding::Autoregressive)?.predictions)
}

fn output_error(name: &str, got: Tensor<5>, want: &TensorData) -> TensorError {
    TensorError { name: name.into(), relative_error: relative_error(&values(&got.into_data()), &values(want)), floored: false }
}

/// A model built from its official constructor's arguments: the `out_len` future frames
/// from the first `in_len`, `F.mse_loss` against the future, gradients.
fn check_official(file: &GoldenFile, name: &str, device: &Device) -> Result<Vec<TensorError>, ModelError> {
    let mut kwargs: serde_json::Value = serde_json::from_str(file.meta("model_kwargs")?)
        .map_err(|e| ModelError::file(&file.path, format!("metadata field 'model_kwargs' is not JSON: {e}")))?;
    // The references are made in eval mode (metadata `mode`): every dropout off, also for
    // the gradients.
    if let Some(arguments) = kwargs.as_object_mut() {
        for (_, rate) in arguments.iter_mut().filter(|(k, _)| k.ends_with("_drop")) {
            *rate = serde_json::json!(0.0);
        }
    }
    let frames_config = ModelConfig {
        image_channels: file.meta_usize("C")?,
        height: file.meta_usize("H")?,
        width: file.meta_usize("W")?,
        in_len: file.meta_usize("in_len")?,
        out_len: file.meta_usize("out_len")?,
        // not read by these families: their widths are in `model_kwargs`
        hidden: 0,
        layers: 0,
        kernel: 0,
    };
    let (batch, c, h, w) = (file.meta_usize("batch")?, frames_config.image_channels, frames_config.height, frames_config.width);
    let (in_len, out_len) = (frames_config.in_len, frames_config.out_len);
    let mut model = registry::build_from_kwargs(name, &frames_config, &kwargs, device)?;
    model.load_pytorch_safetensors(&file.path, "param.")?;
    let frames = Tensor::<5>::from_data(file.tensor("frames", Some(&[batch, in_len + out_len, c, h, w]))?, device);
    let expected = file.tensor("expected", Some(&[batch, out_len, c, h, w]))?;
    let output = model.forward(frames.clone(), &Feeding::Autoregressive)?;
    let future = frames.clone().narrow(1, in_len, out_len);
    let loss = (output.predictions.clone() - future).square().mean();
    let eval = evaluation_outputs(&model, &frames)?;
    let mut errors = compare_all(file, &model, output.predictions, expected.clone(), loss)?;
    errors.push(output_error(EVALUATION_OUTPUTS, eval, &expected));
    Ok(errors)
}

/// Output, loss and every gradient against the file.
fn compare_all(
    file: &GoldenFile,
    model: &crate::Model,
    predictions: Tensor<5>,
    expected: TensorData,
    loss: Tensor<1>,
) -> Result<Vec<TensorError>, ModelError> {
    let want_loss = file.tensor("loss", Some(&[1]))?;
    let mut errors = vec![
        output_error("expected", predictions, &expected),
        TensorError {
            name: "loss".into(),
            relative_error: relative_error(&values(&loss.clone().into_data()), &values(&want_loss)),
            floored: false,
        },
    ];
    let mut grads = Vec::new();
    for (param, grad) in model.named_gradients(loss.backward()) {
        let key = format!("grad.{}", param.name);
        let mut shape = param.shape.clone();
        if param.pytorch_transposed {
            shape.reverse();
        }
        let want = values(&file.tensor(&key, Some(&shape))?);
        let got = match grad {
            Some(g) if param.pytorch_transposed => values(&transpose_2d(&g)),
            Some(g) => values(&g),
            None => vec![0.0; want.len()],
        };
        grads.push((key, got, want));
    }
    let largest = grads.iter().map(|(_, _, w)| norm(w)).fold(0.0, f64::max);
    for (name, got, want) in grads {
        let floored = norm(&want) < GRADIENT_FLOOR * largest;
        let scale = if floored { largest } else { 0.0 };
        errors.push(TensorError { relative_error: relative_error_with_floor(&got, &want, scale), floored, name });
    }
    Ok(errors)
}

/// A burn `Linear` weight's gradient (`[in, out]`) in PyTorch's layout (`[out, in]`).
fn transpose_2d(data: &TensorData) -> TensorData {
    let [rows, cols] = [data.shape()[0], data.shape()[1]];
    let v = values(data);
    let t: Vec<f32> = (0..cols * rows).map(|i| v[(i % rows) * cols + i / rows]).collect();
    TensorData::new(t, [cols, rows])
}

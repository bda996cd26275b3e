//! The official `CuboidTransformerModel(...)` keyword arguments (a golden file's
//! `model_kwargs`): the widths and depths become an [`EarthformerConfig`]; every other
//! argument must have the Moving MNIST configuration's value, the only one implemented.

use serde_json::{Value, json};

use super::EarthformerConfig;
use crate::{ModelConfig, ModelError};

/// The arguments whose value is fixed by the implemented configuration.
fn fixed_arguments() -> Vec<(&'static str, Value)> {
    vec![
        ("block_units", Value::Null),
        ("downsample", json!(2)),
        ("downsample_type", json!("patch_merge")),
        ("upsample_type", json!("upsample")),
        ("enc_attn_patterns", json!(["axial", "axial"])),
        ("dec_self_attn_patterns", json!(["axial", "axial"])),
        ("dec_cross_attn_patterns", json!(["cross_1x1", "cross_1x1"])),
        ("dec_cross_last_n_frames", Value::Null),
        ("dec_use_first_self_attn", json!(false)),
        ("dec_hierarchical_pos_embed", json!(false)),
        ("enc_use_inter_ffn", json!(true)),
        ("dec_use_inter_ffn", json!(true)),
        ("num_global_vectors", json!(0)),
        ("use_relative_pos", json!(true)),
        ("self_attn_use_final_proj", json!(true)),
        ("pos_embed_type", json!("t+hw")),
        ("z_init_method", json!("zeros")),
        ("ffn_activation", json!("gelu")),
        ("gated_ffn", json!(false)),
        ("norm_layer", json!("layer_norm")),
        ("padding_type", json!("zeros")),
        ("initial_downsample_type", json!("conv")),
        ("initial_downsample_scale", json!(2)),
        ("initial_downsample_conv_layers", json!(2)),
        ("initial_downsample_activation", json!("leaky")),
        ("final_upsample_conv_layers", json!(1)),
    ]
}

fn usize_pair(kwargs: &Value, key: &'static str, invalid: &dyn Fn(&'static str, String) -> ModelError) -> Result<[usize; 2], ModelError> {
    let pair: Option<Vec<usize>> = kwargs.get(key).and_then(|v| serde_json::from_value(v.clone()).ok());
    match pair.as_deref() {
        Some(&[a, b]) => Ok([a, b]),
        _ => Err(invalid(key, format!("expected two levels' depths, found {:?}", kwargs.get(key)))),
    }
}

impl EarthformerConfig {
    /// The configuration of the official constructor's keyword arguments; `input_shape` and
    /// `target_shape` (T, H, W, C) must agree with `frames`.
    pub fn from_official_kwargs(model: &str, kwargs: &Value, frames: &ModelConfig) -> Result<Self, ModelError> {
        let invalid = |field: &'static str, problem: String| ModelError::InvalidConfig { model: model.to_string(), field, problem };
        for (key, want) in fixed_arguments() {
            let got = kwargs.get(key).cloned().unwrap_or(Value::Null);
            if got != want {
                return Err(invalid(key, format!("only {want} is implemented (the Moving MNIST configuration), found {got}")));
            }
        }
        let shape = |key: &'static str, t: usize| -> Result<(), ModelError> {
            let want = json!([t, frames.height, frames.width, frames.image_channels]);
            match kwargs.get(key) {
                Some(v) if *v == want => Ok(()),
                other => Err(invalid(key, format!("{other:?} disagrees with the frames (T, H, W, C) {want}"))),
            }
        };
        shape("input_shape", frames.in_len)?;
        shape("target_shape", frames.out_len)?;
        let number = |key: &'static str| kwargs.get(key).and_then(Value::as_f64).ok_or_else(|| invalid(key, "expected a number".into()));
        let drops = [number("attn_drop")?, number("proj_drop")?, number("ffn_drop")?];
        if drops.iter().any(|&d| d != drops[0]) {
            return Err(invalid("attn_drop", format!("one dropout rate for attention, projection and FFN is implemented, found {drops:?}")));
        }
        let base_units = number("base_units")? as usize;
        Ok(Self {
            base_units,
            enc_depth: usize_pair(kwargs, "enc_depth", &invalid)?,
            dec_depth: usize_pair(kwargs, "dec_depth", &invalid)?,
            heads: number("num_heads")? as usize,
            dropout: drops[0],
            // GroupNorm(16, base_units) and LeakyReLU(0.1) are written into the official stem
            norm_groups: 16,
            leak: 0.1,
        })
    }
}

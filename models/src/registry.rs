//! Builds any model by name from one [`ModelConfig`].

use burn::tensor::Device;

use crate::architectures::{Architecture, Pyramid, Stack};
use crate::cells::{ConvLstmCell, MkLstmCell};
use crate::model::{DynPredictor, Model};
use crate::recurrent::Recurrent;
use crate::{ModelConfig, ModelError};

type Builder = fn(&'static str, &ModelConfig, &Device) -> Result<Box<dyn DynPredictor>, ModelError>;

/// One registered model.
pub struct ModelEntry {
    /// Canonical name used in configs, records and on the command line.
    pub name: &'static str,
    /// Name the paper prints in its tables.
    pub paper_name: &'static str,
    /// The authors' `cfg.model_name`, and other accepted spellings.
    pub aliases: &'static [&'static str],
    build: Builder,
}

fn recurrent<A: Architecture>(
    name: &'static str,
    config: &ModelConfig,
    device: &Device,
) -> Result<Box<dyn DynPredictor>, ModelError> {
    Ok(Box::new(Recurrent::<A>::new(name, config, device)?))
}

/// Every implemented model. A model that is not implemented is not listed.
pub static MODELS: &[ModelEntry] = &[
    ModelEntry {
        name: "convlstm",
        paper_name: "ConvLSTM",
        aliases: &["ConvLSTM"],
        build: recurrent::<Stack<ConvLstmCell>>,
    },
    ModelEntry {
        name: "sms-lstm",
        paper_name: "SMS-LSTM",
        aliases: &["MS-ConvLSTM", "ms-convlstm"],
        build: recurrent::<Pyramid<ConvLstmCell>>,
    },
    ModelEntry {
        name: "tms-lstm",
        paper_name: "TMS-LSTM",
        aliases: &["MK-LSTM", "mk-lstm"],
        build: recurrent::<Stack<MkLstmCell>>,
    },
    ModelEntry {
        name: "ms-lstm",
        paper_name: "MS-LSTM",
        aliases: &["MS-LSTM"],
        build: recurrent::<Pyramid<MkLstmCell>>,
    },
];

/// Finds a model by its canonical name or any alias, ignoring case.
pub fn lookup(name: &str) -> Result<&'static ModelEntry, ModelError> {
    MODELS
        .iter()
        .find(|e| {
            e.name.eq_ignore_ascii_case(name)
                || e.paper_name.eq_ignore_ascii_case(name)
                || e.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| ModelError::UnknownModel {
            name: name.to_string(),
            known: MODELS.iter().map(|e| e.name).collect::<Vec<_>>().join(", "),
        })
}

/// Builds a freshly initialised model (PyTorch's default initialisation) on `device`.
pub fn build(name: &str, config: &ModelConfig, device: &Device) -> Result<Model, ModelError> {
    let entry = lookup(name)?;
    config_sanity(entry.name, config)?;
    let net = (entry.build)(entry.name, config, device)?;
    Ok(Model::new(entry.name, config.clone(), net))
}

fn config_sanity(model: &str, c: &ModelConfig) -> Result<(), ModelError> {
    let checks: [(&'static str, bool, &str); 6] = [
        ("image_channels", c.image_channels >= 1, "must be at least 1"),
        ("hidden", c.hidden >= 1, "must be at least 1"),
        ("kernel", c.kernel % 2 == 1, "must be odd (same padding)"),
        ("in_len", c.in_len >= 1, "must be at least 1"),
        ("out_len", c.out_len >= 1, "must be at least 1"),
        ("height", c.height >= 1 && c.width >= 1, "height and width must be at least 1"),
    ];
    match checks.into_iter().find(|(_, ok, _)| !ok) {
        Some((field, _, problem)) => Err(ModelError::InvalidConfig {
            model: model.to_string(),
            field,
            problem: format!("{problem} (config: {c:?})"),
        }),
        None => Ok(()),
    }
}

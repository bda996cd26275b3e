//! Builds any model by name from one [`ModelConfig`].

use burn::tensor::Device;

use crate::architectures::{Architecture, CoreOptions, Pyramid, Stack};
use crate::cells::{
    CausalLstmCell, CmsLstmCell, ConvLstmCell, MimCell, MkLstmCell, MoDeCell, MotionRnnCell,
    PrecipLstmCell, StLstmCell, TrajGruCell,
};
use crate::earthformer::{Earthformer, EarthformerConfig};
use crate::model::{DynPredictor, Model};
use crate::recurrent::Recurrent;
use crate::simvp::{SimVp, SimVpConfig};
use crate::{ModelConfig, ModelError};

type Builder = fn(&'static str, &ModelConfig, &Device) -> Result<Box<dyn DynPredictor>, ModelError>;
/// Builds a model from its official constructor's keyword arguments (a golden file's
/// `model_kwargs`), for the families whose widths are not the recurrent `ModelConfig`'s.
type KwargsBuilder =
    fn(&'static str, &ModelConfig, &serde_json::Value, &Device) -> Result<Box<dyn DynPredictor>, ModelError>;

/// One registered model.
pub struct ModelEntry {
    /// Canonical name used in configs, records and on the command line.
    pub name: &'static str,
    /// Name the paper prints in its tables.
    pub paper_name: &'static str,
    /// The authors' `cfg.model_name`, and other accepted spellings.
    pub aliases: &'static [&'static str],
    /// How the model is fed during training.
    pub training_feeding: TrainingFeeding,
    /// The paper's "basics" column: RNN, CNN or Attention.
    pub family: &'static str,
    /// The batch at which the paper printed this model's FLOPs (thop MACs x batch): 1 for
    /// the recurrent models, 4 for SimVP, 16 for Earthformer.
    pub paper_flops_batch: usize,
    build: Builder,
    from_kwargs: Option<KwargsBuilder>,
}

/// The authors' training-time feeding schedule of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainingFeeding {
    /// Scheduled sampling, eta from 1 to 0 linearly over all iterations.
    Scheduled,
    /// PredRNN-V2's reverse scheduled sampling, by epoch.
    Reverse,
}

fn recurrent<A: Architecture>(
    name: &'static str,
    config: &ModelConfig,
    device: &Device,
) -> Result<Box<dyn DynPredictor>, ModelError> {
    Ok(Box::new(Recurrent::<A>::new(
        name,
        config,
        CoreOptions::default(),
        device,
    )?))
}

fn decoupled<A: Architecture>(
    name: &'static str,
    config: &ModelConfig,
    device: &Device,
) -> Result<Box<dyn DynPredictor>, ModelError> {
    let options = CoreOptions { decoupling: true };
    Ok(Box::new(Recurrent::<A>::new(
        name, config, options, device,
    )?))
}

fn simvp_paper(
    name: &'static str,
    config: &ModelConfig,
    device: &Device,
) -> Result<Box<dyn DynPredictor>, ModelError> {
    Ok(Box::new(SimVp::new(
        name,
        config,
        &SimVpConfig::paper(),
        device,
    )?))
}

fn simvp_openstl(
    name: &'static str,
    config: &ModelConfig,
    device: &Device,
) -> Result<Box<dyn DynPredictor>, ModelError> {
    Ok(Box::new(SimVp::new(
        name,
        config,
        &SimVpConfig::openstl(),
        device,
    )?))
}

fn simvp_official(
    name: &'static str,
    config: &ModelConfig,
    kwargs: &serde_json::Value,
    device: &Device,
) -> Result<Box<dyn DynPredictor>, ModelError> {
    let cfg = SimVpConfig::from_official_kwargs(name, kwargs, config)?;
    Ok(Box::new(SimVp::new(name, config, &cfg, device)?))
}

fn earthformer_official(
    name: &'static str,
    config: &ModelConfig,
    kwargs: &serde_json::Value,
    device: &Device,
) -> Result<Box<dyn DynPredictor>, ModelError> {
    let cfg = EarthformerConfig::from_official_kwargs(name, kwargs, config)?;
    Ok(Box::new(Earthformer::new(name, config, &cfg, device)?))
}

fn earthformer(
    name: &'static str,
    config: &ModelConfig,
    device: &Device,
) -> Result<Box<dyn DynPredictor>, ModelError> {
    Ok(Box::new(Earthformer::new(
        name,
        config,
        &EarthformerConfig::moving_mnist(),
        device,
    )?))
}

/// A model entry with the recurrent defaults: canonical name, paper name, aliases, builder.
const fn rnn(
    name: &'static str,
    paper_name: &'static str,
    aliases: &'static [&'static str],
    build: Builder,
) -> ModelEntry {
    ModelEntry {
        name,
        paper_name,
        aliases,
        training_feeding: TrainingFeeding::Scheduled,
        family: "RNN",
        paper_flops_batch: 1,
        build,
        from_kwargs: None,
    }
}

/// Every implemented model. A model that is not implemented is not listed.
pub static MODELS: &[ModelEntry] = &[
    rnn(
        "convlstm",
        "ConvLSTM",
        &["ConvLSTM"],
        recurrent::<Stack<ConvLstmCell>>,
    ),
    rnn(
        "trajgru",
        "TrajGRU",
        &["TrajGRU"],
        recurrent::<Stack<TrajGruCell>>,
    ),
    rnn(
        "predrnn",
        "PredRNN",
        &["PredRNN"],
        recurrent::<Stack<StLstmCell>>,
    ),
    rnn(
        "predrnn-pp",
        "PredRNN++",
        &["PredRNN++", "predrnn++", "predrnn-plus"],
        recurrent::<Stack<CausalLstmCell>>,
    ),
    ModelEntry {
        training_feeding: TrainingFeeding::Reverse,
        ..rnn(
            "predrnn-v2",
            "PredRNN-V2",
            &["PredRNN-V2", "predrnnv2"],
            decoupled::<Stack<StLstmCell>>,
        )
    },
    rnn("mim", "MIM", &["MIM"], recurrent::<Stack<MimCell>>),
    rnn(
        "motionrnn",
        "MotionRNN",
        &["MotionRNN"],
        recurrent::<Stack<MotionRnnCell>>,
    ),
    rnn(
        "preciplstm",
        "PrecipLSTM",
        &["PrecipLSTM"],
        recurrent::<Stack<PrecipLstmCell>>,
    ),
    rnn(
        "cms-lstm",
        "CMS-LSTM",
        &["CMS-LSTM", "cmslstm"],
        recurrent::<Stack<CmsLstmCell>>,
    ),
    rnn(
        "modernn",
        "MoDeRNN",
        &["MoDeRNN"],
        recurrent::<Stack<MoDeCell>>,
    ),
    rnn(
        "sms-lstm",
        "SMS-LSTM",
        &["MS-ConvLSTM", "ms-convlstm"],
        recurrent::<Pyramid<ConvLstmCell>>,
    ),
    rnn(
        "tms-lstm",
        "TMS-LSTM",
        &["MK-LSTM", "mk-lstm"],
        recurrent::<Stack<MkLstmCell>>,
    ),
    rnn(
        "ms-lstm",
        "MS-LSTM",
        &["MS-LSTM"],
        recurrent::<Pyramid<MkLstmCell>>,
    ),
    rnn(
        "ms-trajgru",
        "MS-TrajGRU",
        &["MS-TrajGRU"],
        recurrent::<Pyramid<TrajGruCell>>,
    ),
    rnn(
        "ms-predrnn",
        "MS-PredRNN",
        &["MS-PredRNN"],
        recurrent::<Pyramid<StLstmCell>>,
    ),
    rnn(
        "ms-predrnn-pp",
        "MS-PredRNN++",
        &["MS-PredRNN++", "ms-predrnn++"],
        recurrent::<Pyramid<CausalLstmCell>>,
    ),
    ModelEntry {
        training_feeding: TrainingFeeding::Reverse,
        ..rnn(
            "ms-predrnn-v2",
            "MS-PredRNN-V2",
            &["MS-PredRNN-V2"],
            decoupled::<Pyramid<StLstmCell>>,
        )
    },
    rnn(
        "ms-mim",
        "MS-MIM",
        &["MS-MIM"],
        recurrent::<Pyramid<MimCell>>,
    ),
    rnn(
        "ms-motionrnn",
        "MS-MotionRNN",
        &["MS-MotionRNN"],
        recurrent::<Pyramid<MotionRnnCell>>,
    ),
    rnn(
        "ms-preciplstm",
        "MS-PrecipLSTM",
        &["MS-PrecipLSTM"],
        recurrent::<Pyramid<PrecipLstmCell>>,
    ),
    rnn(
        "ms-cms-lstm",
        "MS-CMS-LSTM",
        &["MS-CMS-LSTM"],
        recurrent::<Pyramid<CmsLstmCell>>,
    ),
    rnn(
        "ms-modernn",
        "MS-MoDeRNN",
        &["MS-MoDeRNN"],
        recurrent::<Pyramid<MoDeCell>>,
    ),
    // Not recurrent: the whole future in one pass; the feeding schedule does not apply.
    ModelEntry {
        family: "CNN",
        paper_flops_batch: 4,
        from_kwargs: Some(simvp_official),
        ..rnn("simvp", "SimVP", &["SimVP", "SimVP (v1)", "simvp-paper"], simvp_paper)
    },
    ModelEntry {
        family: "CNN",
        paper_flops_batch: 4,
        ..rnn(
            "simvp-openstl",
            "SimVP (OpenSTL config)",
            &["SimVP-OpenSTL"],
            simvp_openstl,
        )
    },
    ModelEntry {
        family: "Attention",
        paper_flops_batch: 16,
        from_kwargs: Some(earthformer_official),
        ..rnn(
            "earthformer",
            "Earthformer",
            &["Earthformer", "Earthformer (CuboidTransformerModel)", "cuboid-transformer"],
            earthformer,
        )
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

/// Builds `name` from its official constructor's keyword arguments; `frames` gives the
/// channels, size and lengths (its recurrent fields are not used).
pub fn build_from_kwargs(name: &str, frames: &ModelConfig, kwargs: &serde_json::Value, device: &Device) -> Result<Model, ModelError> {
    let entry = lookup(name)?;
    let build = entry.from_kwargs.ok_or_else(|| ModelError::InvalidConfig {
        model: entry.name.to_string(),
        field: "model_kwargs",
        problem: "this model is configured by the recurrent fields, not by constructor arguments".into(),
    })?;
    Ok(Model::new(entry.name, frames.clone(), build(entry.name, frames, kwargs, device)?))
}

fn config_sanity(model: &str, c: &ModelConfig) -> Result<(), ModelError> {
    let checks: [(&'static str, bool, &str); 6] = [
        (
            "image_channels",
            c.image_channels >= 1,
            "must be at least 1",
        ),
        ("hidden", c.hidden >= 1, "must be at least 1"),
        ("kernel", c.kernel % 2 == 1, "must be odd (same padding)"),
        ("in_len", c.in_len >= 1, "must be at least 1"),
        ("out_len", c.out_len >= 1, "must be at least 1"),
        (
            "height",
            c.height >= 1 && c.width >= 1,
            "height and width must be at least 1",
        ),
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

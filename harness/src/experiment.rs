//! Experiment files in `configs/`: which models a table trains, on what, under which profiles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
pub use vpbench_datasets::DataLayout;
use vpbench_datasets::ClipRequest;
use vpbench_models::ModelConfig;

/// One `configs/tableN.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// The paper's table number.
    pub table: u32,
    pub title: String,
    /// Dataset short name (`mmnist`, `taxibj`, `kth`, `radar`).
    pub dataset: String,
    /// Registry names, in table order.
    pub models: Vec<String>,
    /// The paper's numbers for this table, relative to the experiment file.
    pub paper: PathBuf,
    /// Columns of the paper's CSV to reproduce (`params_m`, `memory_gb`, `flops_g`,
    /// `time_h`, `mse`, `mae`, `ssim`, `psnr`).
    pub columns: Vec<String>,
    /// Figures drawn with the table (`fig4_radar`, `fig6_frames`).
    pub figures: Vec<String>,
    /// Which predicted frames the quality columns score (default: all S-1, the authors').
    #[serde(default)]
    pub scored_frames: ScoredFrames,
    /// File of profiles shared by the experiments of a dataset, relative to the experiment file.
    pub profiles: PathBuf,
    #[serde(skip)]
    pub profile_set: BTreeMap<String, Profile>,
}

/// The frames a table's quality columns (MSE, MAE, SSIM, PSNR) average over, each scored by
/// the authors' definitions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoredFrames {
    /// Every frame the model output (S-1 for the recurrent models: the authors' code).
    #[default]
    All,
    /// Only the `out_len` future frames: what a model that predicts only those (SimVP,
    /// Earthformer) can be compared on.
    Future,
}

/// Sizes and training settings of one profile (`smoke`, `quick`, `paper`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub description: String,
    /// Frame side in pixels; frames of the dataset are box-downsampled to it.
    pub frame_size: usize,
    /// Channels of a frame: 1 for every dataset of the paper, 2 for TaxiBJ's common layout.
    #[serde(default = "one_channel")]
    pub channels: usize,
    /// The authors' data quirks (default) or the clean variant.
    #[serde(default)]
    pub layout: DataLayout,
    pub in_len: usize,
    pub out_len: usize,
    pub hidden: usize,
    pub layers: usize,
    pub kernel: usize,
    /// Clips generated when the data is generated (synthetic or from MNIST digits).
    pub generated_clips: usize,
    /// Use at most this many training / test clips (all if absent).
    pub max_train_clips: Option<usize>,
    pub max_test_clips: Option<usize>,
    pub epochs: usize,
    pub batch: usize,
    pub eval_batch: usize,
    pub learning_rate: f64,
    /// Validate (and checkpoint) every this many epochs, and after the last.
    pub valid_every: usize,
    pub seed: u64,
    /// The authors' protocol unless given: Adam (eps 1e-8), constant learning rate, no
    /// clipping, the pixel-sum L2 + L1 loss.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default)]
    pub schedule: ScheduleKind,
    /// Fraction of all steps spent warming up (`warmup-cosine`).
    #[serde(default)]
    pub warmup_fraction: f64,
    /// Clip each gradient's L2 norm to this.
    #[serde(default)]
    pub grad_clip_norm: Option<f64>,
    #[serde(default)]
    pub loss: LossKind,
    /// Per-model settings that differ (a model's official recipe), by registry name.
    #[serde(default)]
    pub models: BTreeMap<String, ModelOverride>,
}

fn one_channel() -> usize {
    1
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    #[default]
    Adam,
    AdamW,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    #[default]
    Constant,
    /// PyTorch's OneCycleLR defaults (SimVP): 30% cosine warm-up from lr/25, cosine down to lr/25e4.
    OneCycle,
    /// Linear warm-up from 0, then cosine to lr x 1e-3 (Earthformer).
    WarmupCosine,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// The authors': per-frame pixel sums of squared and absolute errors, added.
    #[default]
    L2L1Sum,
    /// Mean squared error over all elements (`nn.MSELoss`; SimVP, Earthformer).
    Mse,
}

/// Settings of one model that differ from its profile's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelOverride {
    pub epochs: Option<usize>,
    pub batch: Option<usize>,
    pub learning_rate: Option<f64>,
    pub optimizer: Option<OptimizerKind>,
    pub weight_decay: Option<f64>,
    pub schedule: Option<ScheduleKind>,
    pub warmup_fraction: Option<f64>,
    pub grad_clip_norm: Option<f64>,
    pub loss: Option<LossKind>,
}

impl Profile {
    /// The profile as it applies to `model` (its overrides applied, none left).
    pub fn for_model(&self, model: &str) -> Profile {
        let mut p = self.clone();
        p.models.clear();
        if let Some(o) = self.models.get(model) {
            p.epochs = o.epochs.unwrap_or(p.epochs);
            p.batch = o.batch.unwrap_or(p.batch);
            p.learning_rate = o.learning_rate.unwrap_or(p.learning_rate);
            p.optimizer = o.optimizer.unwrap_or(p.optimizer);
            p.weight_decay = o.weight_decay.unwrap_or(p.weight_decay);
            p.schedule = o.schedule.unwrap_or(p.schedule);
            p.warmup_fraction = o.warmup_fraction.unwrap_or(p.warmup_fraction);
            p.grad_clip_norm = o.grad_clip_norm.or(p.grad_clip_norm);
            p.loss = o.loss.unwrap_or(p.loss);
        }
        p
    }

    /// The clips this profile trains and tests on.
    pub fn clip_request(&self) -> ClipRequest {
        ClipRequest {
            len: self.in_len + self.out_len,
            frame_size: self.frame_size,
            channels: self.channels,
            layout: self.layout,
            generated_clips: self.generated_clips,
            seed: self.seed,
        }
    }

    pub fn model_config(&self) -> ModelConfig {
        ModelConfig {
            image_channels: self.channels,
            height: self.frame_size,
            width: self.frame_size,
            hidden: self.hidden,
            layers: self.layers,
            kernel: self.kernel,
            in_len: self.in_len,
            out_len: self.out_len,
        }
    }
}

impl Experiment {
    /// Reads and checks an experiment file; errors name the file and the field.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read experiment file {}", path.display()))?;
        let mut exp: Experiment =
            toml::from_str(&text).with_context(|| format!("experiment file {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        exp.paper = dir.join(&exp.paper);
        exp.profiles = dir.join(&exp.profiles);
        let text = std::fs::read_to_string(&exp.profiles).with_context(|| {
            format!(
                "{}: field 'profiles': cannot read {}",
                path.display(),
                exp.profiles.display()
            )
        })?;
        exp.profile_set = crate::profile_file::parse_profiles(&text, &exp.profiles)?;
        for m in &exp.models {
            vpbench_models::registry::lookup(m)
                .with_context(|| format!("experiment file {}: field 'models'", path.display()))?;
        }
        vpbench_datasets::registry::lookup(&exp.dataset)
            .with_context(|| format!("experiment file {}: field 'dataset'", path.display()))?;
        for (name, p) in &exp.profile_set {
            for model in p.models.keys() {
                vpbench_models::registry::lookup(model).with_context(|| {
                    format!(
                        "profile file {}: {name}.models.{model}",
                        exp.profiles.display()
                    )
                })?;
            }
            for (field, ok) in [
                ("epochs", p.epochs >= 1),
                ("batch", p.batch >= 1),
                ("eval_batch", p.eval_batch >= 1),
                ("valid_every", p.valid_every >= 1),
                ("frame_size", p.frame_size >= 4),
                ("channels", (1..=2).contains(&p.channels)),
            ] {
                if !ok {
                    bail!(
                        "profile file {}: {name}.{field} is out of range",
                        exp.profiles.display()
                    );
                }
            }
        }
        Ok(exp)
    }

    pub fn profile(&self, name: &str) -> anyhow::Result<&Profile> {
        self.profile_set.get(name).with_context(|| {
            format!(
                "profile '{name}' is not defined in {}; defined: {}",
                self.profiles.display(),
                self.profile_set
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}

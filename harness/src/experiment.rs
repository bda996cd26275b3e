//! Experiment files in `configs/`: which models a table trains, on what, under which profiles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
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
    /// File of profiles shared by the experiments of a dataset, relative to the experiment file.
    pub profiles: PathBuf,
    #[serde(skip)]
    pub profile_set: BTreeMap<String, Profile>,
}

/// Sizes and training settings of one profile (`smoke`, `quick`, `paper`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub description: String,
    /// Frame side in pixels; frames of the dataset are box-downsampled to it.
    pub frame_size: usize,
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
}

impl Profile {
    pub fn model_config(&self) -> ModelConfig {
        ModelConfig {
            image_channels: 1,
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
        let mut exp: Experiment = toml::from_str(&text)
            .with_context(|| format!("experiment file {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        exp.paper = dir.join(&exp.paper);
        exp.profiles = dir.join(&exp.profiles);
        let text = std::fs::read_to_string(&exp.profiles)
            .with_context(|| format!("{}: field 'profiles': cannot read {}", path.display(), exp.profiles.display()))?;
        exp.profile_set = toml::from_str(&text).with_context(|| format!("profile file {}", exp.profiles.display()))?;
        for m in &exp.models {
            vpbench_models::registry::lookup(m)
                .with_context(|| format!("experiment file {}: field 'models'", path.display()))?;
        }
        vpbench_datasets::DatasetKind::parse(&exp.dataset)
            .with_context(|| format!("experiment file {}: field 'dataset'", path.display()))?;
        for (name, p) in &exp.profile_set {
            for (field, ok) in [
                ("epochs", p.epochs >= 1),
                ("batch", p.batch >= 1),
                ("eval_batch", p.eval_batch >= 1),
                ("valid_every", p.valid_every >= 1),
                ("frame_size", p.frame_size >= 4),
            ] {
                if !ok {
                    bail!("profile file {}: {name}.{field} is out of range", exp.profiles.display());
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
                self.profile_set.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

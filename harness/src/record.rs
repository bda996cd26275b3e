//! The self-describing record of one run, and the CSV store of all runs.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use vpbench_models::ModelConfig;

use crate::atomic::write_atomic;
use crate::host::HostInfo;
use crate::memory::MemoryPeak;
use crate::metrics::QualityMetrics;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum RunStatus {
    Finished,
    Failed { reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    pub dataset: String,
    pub synthetic: bool,
    /// `real: <file>` or `synthetic: <generator, seed>`.
    pub label: String,
    pub train_clips: usize,
    pub test_clips: usize,
    /// What the loader noticed (gaps in a radar sequence, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSettings {
    pub optimizer: String,
    pub learning_rate: f64,
    pub epochs: usize,
    pub batch: usize,
    pub loss: String,
    pub feeding: String,
    pub valid_every: usize,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostInfo {
    pub params: usize,
    /// Paper convention at the paper's configuration of the dataset (batch 1, one sequence).
    pub macs_paper_config: u64,
    /// Same convention at this run's configuration.
    pub macs_run_config: u64,
    /// The batch at which the paper printed this model's FLOPs, and the MACs of one forward
    /// pass at that batch and the paper's configuration (not exactly batch x per-sequence:
    /// Earthformer's decoder query projection runs once per pass).
    #[serde(default)]
    pub paper_flops_batch: usize,
    #[serde(default)]
    pub macs_paper_batch: u64,
    /// The per-sequence count at the paper's configuration by kind of operation, including
    /// what the convention leaves out (products of activations: attention).
    #[serde(default)]
    pub macs_breakdown: vpbench_models::cost::MacCount,
    pub counted: String,
    /// The paper's analytic training memory (`4 M_par + 2 M_out`) at this run's configuration
    /// and batch, counted from the captured forward graph: device-independent, beside the
    /// measured peak.
    #[serde(default)]
    pub analytic_memory_run: Option<vpbench_models::cost::AnalyticMemory>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Training, validation and test, seconds (resumed runs add up their parts).
    pub total_s: f64,
    pub per_epoch_s: Vec<f64>,
    /// The mean training step, without the first step of each process (kernel compilation and,
    /// on GPU backends, burn's autotuning of every shape), seconds; the whole of the first
    /// steps stays in `total_s` and `per_epoch_s`.
    pub mean_step_s: f64,
    pub steps: usize,
    /// The first step of each process (one, or one more per resume), seconds in all.
    #[serde(default)]
    pub first_steps_s: f64,
    pub test_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLoss {
    pub epoch: usize,
    pub train_loss: f64,
    pub valid_loss: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestMetrics {
    /// The training loss on the test set (unclipped, all S-1 frames).
    pub loss: f64,
    pub authors: QualityMetrics,
    pub common: QualityMetrics,
    /// Precipitation skill (radar data): POD/FAR/CSI/HSS per threshold and lead time, B-MSE/B-MAE.
    #[serde(default)]
    pub skill: Option<crate::skill::SkillScores>,
}

/// Everything about one run; written once it ends, finished or failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub status: RunStatus,
    pub model: String,
    pub paper_name: String,
    pub profile: String,
    pub data: DataInfo,
    pub model_config: ModelConfig,
    pub training: TrainingSettings,
    pub backend: String,
    pub device: String,
    /// The adapter the GPU backend opened: name, driver, PCI bus id (`None` on flex).
    #[serde(default)]
    pub adapter: Option<crate::device::AdapterInfo>,
    pub cost: CostInfo,
    pub timing: Timing,
    pub memory: MemoryPeak,
    pub losses: Vec<EpochLoss>,
    pub test: Option<TestMetrics>,
    /// Whether the run continued from a checkpoint after an interruption.
    pub resumed: bool,
    pub host: HostInfo,
    pub started_unix: u64,
    pub finished_unix: u64,
    pub command: String,
}

impl RunRecord {
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        write_atomic(path, serde_json::to_string_pretty(self)?.as_bytes())
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("run record {} is not valid", path.display()))
    }

    pub fn is_finished(&self) -> bool {
        self.status == RunStatus::Finished
    }

    /// The flat row of the CSV store.
    pub fn row(&self) -> ResultRow {
        let (authors, common) = match &self.test {
            Some(t) => (Some(&t.authors), Some(&t.common)),
            None => (None, None),
        };
        ResultRow {
            run_id: self.run_id.clone(),
            status: match &self.status {
                RunStatus::Finished => "finished".into(),
                RunStatus::Failed { .. } => "failed".into(),
            },
            failure: match &self.status {
                RunStatus::Failed { reason } => reason.clone(),
                RunStatus::Finished => String::new(),
            },
            model: self.model.clone(),
            dataset: self.data.dataset.clone(),
            data: self.data.label.clone(),
            synthetic: self.data.synthetic,
            profile: self.profile.clone(),
            backend: self.backend.clone(),
            device: self.device.clone(),
            params: self.cost.params,
            macs_paper_config: self.cost.macs_paper_config,
            memory_bytes: self.memory.headline_bytes(),
            memory_measured_as: self.memory.measured_as.clone(),
            total_s: self.timing.total_s,
            mean_step_s: self.timing.mean_step_s,
            mse: authors.map(|m| m.mse),
            mae: authors.map(|m| m.mae),
            ssim: authors.map(|m| m.ssim),
            psnr: authors.map(|m| m.psnr),
            mse_common: common.map(|m| m.mse),
            ssim_common: common.map(|m| m.ssim),
            git_commit: self.host.git_commit.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResultRow {
    pub run_id: String,
    pub status: String,
    pub failure: String,
    pub model: String,
    pub dataset: String,
    pub data: String,
    pub synthetic: bool,
    pub profile: String,
    pub backend: String,
    pub device: String,
    pub params: usize,
    pub macs_paper_config: u64,
    pub memory_bytes: Option<u64>,
    pub memory_measured_as: String,
    pub total_s: f64,
    pub mean_step_s: f64,
    pub mse: Option<f64>,
    pub mae: Option<f64>,
    pub ssim: Option<f64>,
    pub psnr: Option<f64>,
    pub mse_common: Option<f64>,
    pub ssim_common: Option<f64>,
    pub git_commit: String,
}

/// Adds (or replaces, by run id) a row of `results.csv`, rewriting the file atomically.
pub fn upsert_result_row(csv_path: &Path, row: ResultRow) -> anyhow::Result<()> {
    let mut rows: Vec<ResultRow> = if csv_path.exists() {
        csv::Reader::from_path(csv_path)
            .with_context(|| format!("cannot read {}", csv_path.display()))?
            .deserialize()
            .collect::<Result<_, _>>()
            .with_context(|| format!("results store {} is not valid", csv_path.display()))?
    } else {
        Vec::new()
    };
    rows.retain(|r| r.run_id != row.run_id);
    rows.push(row);
    let mut writer = csv::Writer::from_writer(Vec::new());
    for r in &rows {
        writer.serialize(r)?;
    }
    write_atomic(csv_path, &writer.into_inner()?)
}

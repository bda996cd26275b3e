//! One run, as a sequence of stages: prepare (model, optimiser, resume) -> train epochs
//! (steps, validation, checkpoints) -> test (the metrics) -> measure and record.
//!
//! Each stage is its own module with its own output type; only [`execute`] sees them all.

mod checkpoint;
mod epochs;
mod prepare;
mod record;
pub mod step;
mod test;

pub use test::score_test_set;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use vpbench_datasets::Dataset;

use crate::atomic::write_atomic;
use crate::data::DataSplit;
use crate::device::ComputeDevice;
use crate::experiment::Profile;
use crate::memory::{memory_peak, reset_peak_rss, start_sampler};
use crate::panic::panic_message;
use crate::progress::Progress;
use crate::record::{RunRecord, RunStatus};

/// Everything needed to carry out one run.
pub struct RunPlan<'a> {
    pub run_id: String,
    pub model: &'a str,
    pub profile_name: &'a str,
    /// The profile as it applies to this model (overrides applied).
    pub profile: Profile,
    pub dataset: &'static dyn Dataset,
    pub data: &'a DataSplit,
    pub device: &'a ComputeDevice,
    pub run_dir: PathBuf,
    pub resume: bool,
    pub command: String,
    /// Stop (without a record, so that the run resumes later) if the parent process ends:
    /// set in child processes of a sweep.
    pub exit_with_parent: bool,
}

/// Runs the plan; a failure of any kind (NaN loss, out of memory, a panic) comes back as a
/// record with status failed, never as a crash of the sweep.
pub fn execute(plan: &RunPlan<'_>, progress: &Progress) -> RunRecord {
    let mut record = record::base_record(plan);
    let outcome = plan.device.compute(|| catch_unwind(AssertUnwindSafe(|| run_stages(plan, progress, &mut record))));
    record.status = match outcome {
        Ok(Ok(())) => RunStatus::Finished,
        Ok(Err(e)) => RunStatus::Failed { reason: format!("{e:#}") },
        Err(panic) => RunStatus::Failed { reason: format!("panicked: {}", panic_message(panic.as_ref())) },
    };
    record.finished_unix = record::unix_now();
    record
}

/// A record for a run that ended before it could record itself (its process was killed).
pub fn failed_record(plan: &RunPlan<'_>, reason: String) -> RunRecord {
    let mut record = record::base_record(plan);
    record.status = RunStatus::Failed { reason };
    record.finished_unix = record::unix_now();
    record
}

/// The stages in order; what each returns goes into the record at the end.
fn run_stages(plan: &RunPlan<'_>, progress: &Progress, record: &mut RunRecord) -> anyhow::Result<()> {
    record.cost = record::costs(plan.model, &plan.profile.model_config(), plan.profile.batch, plan.dataset)?;
    let mut training = prepare::prepare(plan, progress)?;
    record.resumed = training.resumed;

    reset_peak_rss();
    let sampler = start_sampler(plan.device, std::time::Duration::from_millis(100));
    epochs::train_epochs(plan, progress, &mut training, sampler.pool.as_ref())?;
    let tested = test::test(plan, &training.model)?;
    let memory = memory_peak(sampler, &plan.device.device);

    record::fill(record, training.state, tested, memory);
    // The weights that were tested, for figures and later inspection.
    write_atomic(&plan.run_dir.join("final.safetensors"), &training.model.weights_safetensors()?)?;
    checkpoint::remove(&training.checkpoint_dir);
    Ok(())
}

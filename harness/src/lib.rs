//! The vpbench harness: commands that check, measure, train and evaluate the models.

pub mod atomic;
pub mod bench;
pub mod commands;
pub mod data;
pub mod data_parallel;
pub mod device;
pub mod experiment;
pub mod profile_file;
pub mod host;
pub mod inspect;
pub mod isolation;
pub mod libdevice;
pub mod memory;
pub mod metric_golden;
pub mod metrics;
pub mod panic;
pub mod perturb;
pub mod progress;
pub mod recipe;
pub mod record;
pub mod run;
pub mod skill;
pub mod sweep;
pub mod trajectory;

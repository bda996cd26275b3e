//! The vpbench harness: commands that check, measure, train and evaluate the models.

pub mod commands;

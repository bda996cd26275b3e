//! One module per `vpbench` subcommand.

pub mod cost;
pub mod evaluate;
pub mod models;
pub mod verify_golden;
pub mod verify_metrics;
pub mod verify_trajectory;

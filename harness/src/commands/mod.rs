//! One module per `vpbench` subcommand.

pub mod cost;
pub mod evaluate;
pub mod models;
pub mod verify_golden;
pub mod verify_metrics;
pub mod verify_trajectory;

/// Prints what checking `file` gave: its report (JSON, or `text`'s lines), or its error as a
/// `FAIL` line naming the file. The report, where there is one, for the caller's counts.
pub(crate) fn print_outcome<R: serde::Serialize>(
    file: &std::path::Path,
    outcome: anyhow::Result<R>,
    json: bool,
    text: impl FnOnce(&R),
) -> anyhow::Result<Option<R>> {
    match outcome {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                text(&report);
            }
            Ok(Some(report))
        }
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({"file": file, "error": format!("{e:#}")}));
            } else {
                println!("FAIL {}: {e:#}", file.display());
            }
            Ok(None)
        }
    }
}

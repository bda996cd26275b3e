//! One piece of work in a child process of its own, so that its memory peak is its own and
//! a crash or an out-of-memory kill ends only that piece: the one helper behind a sweep's
//! runs and the benchmark's models.
//!
//! The child writes its result as JSON to a file the parent names; the parent reads it back,
//! or, when the child ended without writing it, says how the child ended.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use anyhow::Context;
use serde::de::DeserializeOwned;

/// What to do with the child's standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildStderr {
    /// Through to the terminal (progress bars).
    Inherit,
    /// Captured; its last line goes into the failure reason.
    Capture,
}

/// Runs `command` to its end and reads the JSON it left at `result`: `Ok(Ok(value))`, or
/// `Ok(Err(reason))` when the child ended without a result (a crash, a kill, an error it
/// reported). `Err` only when the child could not be started or its result not read.
pub fn run_isolated<T: DeserializeOwned>(
    mut command: Command,
    result: &Path,
    stderr: ChildStderr,
) -> anyhow::Result<Result<T, String>> {
    let program = command.get_program().to_string_lossy().into_owned();
    let _ = std::fs::remove_file(result);
    if stderr == ChildStderr::Capture {
        command.stderr(Stdio::piped());
    }
    let output = command.output().with_context(|| format!("cannot start {program}"))?;
    if result.is_file() {
        let text = std::fs::read_to_string(result).with_context(|| format!("cannot read {}", result.display()))?;
        let value = serde_json::from_str(&text).with_context(|| format!("{}: not a result this program reads", result.display()))?;
        return Ok(Ok(value));
    }
    let last_line = String::from_utf8_lossy(&output.stderr)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    Ok(Err(format!("{}{last_line}", how_it_ended(output.status))))
}

/// "exited with status N" or "was killed by signal N", with a hint for the OOM killer's.
pub fn how_it_ended(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("process exited with status {code} without a result"),
        (None, Some(9)) => "process was killed by signal 9 (SIGKILL: out of memory?)".to_string(),
        (None, signal) => format!("process was killed by signal {}", signal.unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn a_result_is_read_and_a_silent_end_is_described() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.json");
        let script = format!("echo '[1, 2]' > {}", out.display());
        let got: Result<Vec<u32>, String> = run_isolated(shell(&script), &out, ChildStderr::Capture).unwrap();
        assert_eq!(got, Ok(vec![1, 2]));

        let got: Result<Vec<u32>, String> = run_isolated(shell("echo 'no data file' >&2; exit 4"), &out, ChildStderr::Capture).unwrap();
        assert_eq!(got, Err("process exited with status 4 without a result: no data file".into()));

        let got: Result<Vec<u32>, String> = run_isolated(shell("kill -9 $$"), &out, ChildStderr::Inherit).unwrap();
        assert_eq!(got, Err("process was killed by signal 9 (SIGKILL: out of memory?)".into()));
    }
}

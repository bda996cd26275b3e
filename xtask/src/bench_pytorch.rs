//! `cargo xtask bench --against-pytorch DIR`: the authors' own PyTorch code, timed beside each
//! vpbench model in the same run, on the same machine, at the same shapes, batch, threads,
//! warm-up and timed steps (benchmarks/torch_step_bench.py), with both peak RSS.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use vpbench_harness::bench::{BenchResult, BenchSteps};
use vpbench_harness::experiment::Profile;
use vpbench_models::registry;

/// Where and how the PyTorch side runs.
pub struct PytorchSetup {
    pub python: PathBuf,
    pub script: PathBuf,
    pub ms_rnn: PathBuf,
    pub threads: usize,
}

impl PytorchSetup {
    /// Checks the interpreter, the script and the authors' checkout before anything runs.
    pub fn new(root: &Path, python: Option<PathBuf>, ms_rnn: &Path) -> anyhow::Result<Self> {
        let python = python.unwrap_or_else(|| root.join(".venv-torch/bin/python"));
        if !python.exists() {
            anyhow::bail!(
                "--against-pytorch: no Python at {} (install PyTorch with `bash benchmarks/install-pytorch.sh`, or pass --python)",
                python.display()
            );
        }
        let script = root.join("benchmarks/torch_step_bench.py");
        if !script.exists() {
            anyhow::bail!("--against-pytorch: {} is missing", script.display());
        }
        if !ms_rnn.join("net_params.py").exists() {
            anyhow::bail!(
                "--against-pytorch {}: expected a checkout of the authors' repository mazhf/MS-RNN (net_params.py not found)",
                ms_rnn.display()
            );
        }
        Ok(Self { python, script, ms_rnn: ms_rnn.to_path_buf(), threads: rayon_threads() })
    }
}

/// The threads vpbench's own runs use (burn-flex's rayon pool: all cores unless
/// RAYON_NUM_THREADS says otherwise); PyTorch gets the same number.
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// One model's PyTorch measurement; `error` says why a number is missing.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct PytorchSide {
    pub model: String,
    pub authors_name: String,
    pub params: Option<u64>,
    pub train_step_median_s: Option<f64>,
    pub eval_step_median_s: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub threads: usize,
    pub torch: String,
    pub error: String,
}

/// The authors' name of a registry model: the first alias of every recurrent entry.
fn authors_name(model: &str) -> Option<&'static str> {
    registry::lookup(model).ok().and_then(|e| e.aliases.first().copied())
}

/// Runs the authors' model `model` at `profile`'s configuration.
pub fn measure(setup: &PytorchSetup, model: &str, profile: &Profile, steps: BenchSteps) -> PytorchSide {
    let mut side = PytorchSide { model: model.to_string(), threads: setup.threads, ..Default::default() };
    let Some(name) = authors_name(model) else {
        side.error = format!("{model} has no counterpart in the authors' code");
        return side;
    };
    side.authors_name = name.to_string();
    let c = profile.model_config();
    let mut command = Command::new(&setup.python);
    command.arg(&setup.script).arg(&setup.ms_rnn).arg(name);
    for (flag, value) in [
        ("--size", c.height),
        ("--in-len", c.in_len),
        ("--out-len", c.out_len),
        ("--hidden", c.hidden),
        ("--layers", c.layers),
        ("--kernel", c.kernel),
        ("--batch", profile.batch),
        ("--threads", setup.threads),
        ("--warmup", steps.warmup),
        ("--steps", steps.timed),
    ] {
        command.arg(flag).arg(value.to_string());
    }
    match command.output() {
        Err(e) => side.error = format!("could not start {}: {e}", setup.python.display()),
        Ok(out) if !out.status.success() => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            side.error = format!("PyTorch run ended with {}: {last}", out.status);
        }
        Ok(out) => match serde_json::from_slice::<PytorchSide>(last_line(&out.stdout)) {
            Ok(measured) => {
                side = PytorchSide { model: side.model, authors_name: side.authors_name, error: String::new(), ..measured };
            }
            Err(e) => side.error = format!("unreadable PyTorch output: {e}"),
        },
    }
    side
}

fn last_line(stdout: &[u8]) -> &[u8] {
    let trimmed = stdout.trim_ascii_end();
    let start = trimmed.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    &trimmed[start..]
}

/// `theirs / ours`: above 1, vpbench is faster.
fn ratio(theirs: Option<f64>, ours: f64) -> String {
    match theirs {
        Some(t) if ours.is_finite() && ours > 0.0 => format!("{:.2}x", t / ours),
        _ => "not measured".into(),
    }
}

fn seconds(s: Option<f64>) -> String {
    s.filter(|v| v.is_finite()).map_or("not measured".into(), |v| format!("{v:.3} s"))
}

fn megabytes(b: Option<u64>) -> String {
    b.map_or("not measured".into(), |b| format!("{:.1} MB", b as f64 / 1e6))
}

/// The side-by-side table appended to the bench's Markdown.
pub fn markdown(results: &[BenchResult], sides: &[PytorchSide]) -> String {
    let mut s = String::from(
        "\n## Against the authors' PyTorch code (same run, same machine)\n\n\
         Ratio = PyTorch's median step time / vpbench's: above 1.00x vpbench is faster. \
         Peak RSS of each side's own process (vpbench: one process per model).\n\n\
         | Model | Authors' name | Params (vpbench / PyTorch) | Train step vpbench | Train step PyTorch | Train ratio | Eval step vpbench | Eval step PyTorch | Eval ratio | Peak RSS vpbench | Peak RSS PyTorch | Note |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for side in sides {
        let Some(r) = results.iter().find(|r| r.model == side.model) else { continue };
        let note = [r.error.as_str(), side.error.as_str()].iter().filter(|e| !e.is_empty()).copied().collect::<Vec<_>>().join("; ");
        let ours = |v: f64| (r.error.is_empty() && v.is_finite()).then_some(v);
        let _ = writeln!(
            s,
            "| {} | {} | {} / {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.paper_name,
            side.authors_name,
            r.params,
            side.params.map_or("not measured".into(), |p| p.to_string()),
            seconds(ours(r.train_step_median_s)),
            seconds(side.train_step_median_s),
            ratio(side.train_step_median_s, r.train_step_median_s),
            seconds(ours(r.eval_step_median_s)),
            seconds(side.eval_step_median_s),
            ratio(side.eval_step_median_s, r.eval_step_median_s),
            megabytes(r.memory.process_peak_rss_bytes),
            megabytes(side.peak_rss_bytes),
            note,
        );
    }
    s
}

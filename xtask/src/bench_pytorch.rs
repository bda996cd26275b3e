//! `cargo xtask bench --against-pytorch DIR`: the authors' own PyTorch code, timed beside each
//! vpbench model in the same run, on the same machine, at the same shapes, batch, threads,
//! warm-up and timed steps (benchmarks/torch_step_bench.py), with both peak RSS.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use vpbench_harness::bench::{BenchResult, BenchSteps, median};
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

/// Both sides' median step times in each round of one model. A round runs vpbench's model,
/// then the authors' code, each in a fresh process; on a machine whose speed drifts over
/// minutes (shared VMs), the ratio within a round is steadier than a ratio across them.
#[derive(Serialize, Debug, Clone, Default)]
pub struct Rounds {
    pub model: String,
    pub ours_train_s: Vec<f64>,
    pub ours_eval_s: Vec<f64>,
    pub theirs_train_s: Vec<Option<f64>>,
    pub theirs_eval_s: Vec<Option<f64>>,
}

impl Rounds {
    pub fn new(model: &str) -> Self {
        Self { model: model.to_string(), ..Default::default() }
    }

    /// Adds one round; a failed vpbench run counts as not measured.
    pub fn push(&mut self, ours: &BenchResult, theirs: &PytorchSide) {
        let ok = |v: f64| if ours.error.is_empty() { v } else { f64::NAN };
        self.push_times([ok(ours.train_step_median_s), ok(ours.eval_step_median_s)], [theirs.train_step_median_s, theirs.eval_step_median_s]);
    }

    /// Adds one round's `[train, eval]` step times (NaN / `None`: not measured).
    fn push_times(&mut self, [ours_train, ours_eval]: [f64; 2], [theirs_train, theirs_eval]: [Option<f64>; 2]) {
        self.ours_train_s.push(ours_train);
        self.ours_eval_s.push(ours_eval);
        self.theirs_train_s.push(theirs_train);
        self.theirs_eval_s.push(theirs_eval);
    }

    /// `theirs / ours` in each round where both were measured.
    fn ratios(ours: &[f64], theirs: &[Option<f64>]) -> Vec<f64> {
        ours.iter()
            .zip(theirs)
            .filter_map(|(&o, t)| t.filter(|t| t.is_finite() && o.is_finite() && o > 0.0).map(|t| t / o))
            .collect()
    }

    pub fn train_ratios(&self) -> Vec<f64> {
        Self::ratios(&self.ours_train_s, &self.theirs_train_s)
    }

    pub fn eval_ratios(&self) -> Vec<f64> {
        Self::ratios(&self.ours_eval_s, &self.theirs_eval_s)
    }
}

/// The index of the median of the measured (non-NaN) `values`, the lower one of an even
/// count; 0 when none was measured.
pub fn median_index(values: &[f64]) -> usize {
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order.get(order.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

/// The median of the per-round ratios (above 1, vpbench is faster), with their range when
/// there was more than one round.
fn ratio(ratios: &[f64]) -> String {
    match ratios.len() {
        0 => "not measured".into(),
        1 => format!("{:.2}x", ratios[0]),
        _ => {
            let (low, high) = ratios.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &r| (l.min(r), h.max(r)));
            format!("{:.2}x ({low:.2}-{high:.2})", median(ratios.to_vec()))
        }
    }
}

fn seconds(s: Option<f64>) -> String {
    s.filter(|v| v.is_finite()).map_or("not measured".into(), |v| format!("{v:.3} s"))
}

fn megabytes(b: Option<u64>) -> String {
    b.map_or("not measured".into(), |b| format!("{:.1} MB", b as f64 / 1e6))
}

/// Threads and versions of both sides, and what vpbench's idle workers did.
fn sides_line(sides: &[PytorchSide]) -> String {
    let mut versions: Vec<&str> = sides.iter().map(|s| s.torch.as_str()).filter(|v| !v.is_empty()).collect();
    versions.sort_unstable();
    versions.dedup();
    let threads = sides.first().map_or("not measured".to_string(), |s| s.threads.to_string());
    let torch = if versions.is_empty() { "not measured".to_string() } else { versions.join(", ") };
    format!(
        "Threads: {threads} on each side (vpbench's rayon pool, PyTorch's torch.set_num_threads); PyTorch {torch}; \
         vpbench's idle workers: {} ({}).",
        vpbench_kernels::threads::idle_workers_policy(),
        vpbench_kernels::threads::IDLE_WORKERS_VARIABLE,
    )
}

/// The side-by-side table appended to the bench's Markdown.
pub fn markdown(results: &[BenchResult], sides: &[PytorchSide], rounds: &[Rounds]) -> String {
    let count = rounds.iter().map(|r| r.ours_train_s.len()).max().unwrap_or(1);
    let mut s = format!(
        "\n## Against the authors' PyTorch code (same run, same machine)\n\n\
         Ratio = PyTorch's median step time / vpbench's: above 1.00x vpbench is faster. \
         {count} round(s) per model, each running vpbench's model and then the authors' code in fresh \
         processes; the ratio is the median of the rounds' ratios (their range in brackets), the \
         step times and peak RSS are those of each side's median round. Peak RSS of each side's \
         own process (vpbench: one process per model).\n\n{}\n\n\
         | Model | Authors' name | Params (vpbench / PyTorch) | Train step vpbench | Train step PyTorch | Train ratio | Eval step vpbench | Eval step PyTorch | Eval ratio | Peak RSS vpbench | Peak RSS PyTorch | Note |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        sides_line(sides),
    );
    for side in sides {
        let Some(r) = results.iter().find(|r| r.model == side.model) else { continue };
        let round = rounds.iter().find(|x| x.model == side.model).cloned().unwrap_or_default();
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
            ratio(&round.train_ratios()),
            seconds(ours(r.eval_step_median_s)),
            seconds(side.eval_step_median_s),
            ratio(&round.eval_ratios()),
            megabytes(r.memory.process_peak_rss_bytes),
            megabytes(side.peak_rss_bytes),
            note,
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_is_the_median_of_the_rounds_ratios_over_measured_rounds() {
        let mut rounds = Rounds::new("convlstm");
        rounds.push_times([1.0, 0.5], [Some(1.2), Some(0.3)]); // 1.2, 0.6
        rounds.push_times([2.0, 1.0], [Some(1.8), Some(0.45)]); // 0.9, 0.45
        rounds.push_times([f64::NAN, f64::NAN], [Some(5.0), Some(1.0)]); // ours failed: left out
        rounds.push_times([1.0, 0.5], [None, None]); // theirs not measured: left out
        rounds.push_times([1.0, 0.5], [Some(1.0), Some(0.25)]); // 1.0, 0.5
        let train = rounds.train_ratios();
        assert_eq!(train.len(), 3);
        assert_eq!(ratio(&train), "1.00x (0.90-1.20)");
        assert_eq!(ratio(&rounds.eval_ratios()), "0.50x (0.45-0.60)");
        assert_eq!(ratio(&[]), "not measured");
        assert_eq!(ratio(&[1.234]), "1.23x");
    }

    #[test]
    fn the_report_names_threads_versions_and_the_idle_worker_policy() {
        let side = |torch: &str| PytorchSide { threads: 2, torch: torch.to_string(), ..Default::default() };
        let line = sides_line(&[side("2.3.1+cu121"), side(""), side("2.3.1+cu121")]);
        assert!(line.starts_with("Threads: 2 on each side"), "{line}");
        assert!(line.contains("PyTorch 2.3.1+cu121;"), "{line}");
        assert!(line.contains("idle workers: sleep (VPBENCH_IDLE_WORKERS)"), "unit tests never switch polling on: {line}");
        assert!(sides_line(&[]).contains("Threads: not measured") && sides_line(&[]).contains("PyTorch not measured"));
    }

    #[test]
    fn the_median_round_is_a_measured_one() {
        assert_eq!(median_index(&[3.0, 1.0, 2.0]), 2);
        assert_eq!(median_index(&[f64::NAN, 1.0, 2.0]), 1);
        assert_eq!(median_index(&[4.0]), 0);
        assert_eq!(median_index(&[f64::NAN, f64::NAN]), 0);
        assert_eq!(median_index(&[2.0, 1.0]), 1);
    }
}

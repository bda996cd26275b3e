//! Which vector instructions vpbench's own CPU kernels run on: the machine's, detected once,
//! or a lower level where `VPBENCH_ISA` asks for one (`scalar`, `avx2`, `avx512`), so that
//! every path of the kernels can be checked on one machine (the property tests and
//! `vpbench verify-golden` under each level).
//!
//! This caps vpbench's kernels only (the direct convolution, the fused activations, softmax
//! and their backwards). The `gemm` crate and burn-flex pick their own SIMD from the CPU
//! itself and cannot be forced: a forced run is a check of vpbench's paths, not a stand-in
//! for a machine of that class ([`crate::arithmetic_class`] names the forced level).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that caps the level.
pub const ISA_VARIABLE: &str = "VPBENCH_ISA";

/// Vector instruction levels, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    /// Plain Rust (im2col and gemm for the convolutions).
    Scalar,
    /// AVX2 + FMA.
    Avx2,
    /// AVX-512 F, BW, CD, DQ and VL (the features of pulp's V4 level, which gemm uses).
    Avx512,
}

impl SimdLevel {
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    fn parse(text: &str) -> Option<SimdLevel> {
        SimdLevel::ALL.into_iter().find(|l| l.name() == text)
    }
}

/// The highest level this CPU runs, detected once.
pub fn machine_level() -> SimdLevel {
    static MACHINE: OnceLock<SimdLevel> = OnceLock::new();
    *MACHINE.get_or_init(detect)
}

fn detect() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512bw") && has!("avx512cd") && has!("avx512dq") && has!("avx512vl") && has!("fma") {
            return SimdLevel::Avx512;
        }
        if has!("avx2") && has!("fma") {
            return SimdLevel::Avx2;
        }
    }
    SimdLevel::Scalar
}

/// The level `VPBENCH_ISA` asks for (`None`: unset), checked against the machine: an
/// unknown name or a level this CPU lacks is an error naming the variable.
pub fn requested_level() -> Result<Option<SimdLevel>, String> {
    let Ok(text) = std::env::var(ISA_VARIABLE) else { return Ok(None) };
    let level = SimdLevel::parse(&text).ok_or_else(|| {
        format!("{ISA_VARIABLE}={text}: expected one of scalar, avx2, avx512")
    })?;
    if level > machine_level() {
        return Err(format!("{ISA_VARIABLE}={text}: this CPU runs at most {}", machine_level().name()));
    }
    Ok(Some(level))
}

/// No override: the environment (or the machine) decides.
const UNSET: u8 = u8::MAX;
static OVERRIDE: AtomicU8 = AtomicU8::new(UNSET);

/// The level the kernels run at now: a test's override, else `VPBENCH_ISA`, else the
/// machine's. Panics on a bad `VPBENCH_ISA`; the binaries check it first with
/// [`requested_level`] and exit with its message.
pub fn level() -> SimdLevel {
    match OVERRIDE.load(Ordering::Relaxed) {
        UNSET => *ENVIRONMENT.get_or_init(|| requested_level().unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(machine_level)),
        forced => SimdLevel::ALL[forced as usize],
    }
}

static ENVIRONMENT: OnceLock<SimdLevel> = OnceLock::new();

/// Runs the kernels at `level` (capped at the machine's) until [`clear_forced_level`]: a
/// hook for tests that check each path in one process. Process-wide, so a test binary that
/// uses it must not run other kernels concurrently that care which path they take.
pub fn force_level(level: SimdLevel) {
    OVERRIDE.store(level.min(machine_level()) as u8, Ordering::Relaxed);
}

pub fn clear_forced_level() {
    OVERRIDE.store(UNSET, Ordering::Relaxed);
}

/// The levels this machine can run, lowest first (the tests check each).
pub fn runnable_levels() -> Vec<SimdLevel> {
    SimdLevel::ALL.into_iter().filter(|l| *l <= machine_level()).collect()
}

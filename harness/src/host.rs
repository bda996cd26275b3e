//! Facts about the machine and build, stamped into every record.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: String,
    pub os: String,
    pub cpu: String,
    pub cpu_cores: usize,
    pub memory_bytes: u64,
    /// GPU name and driver from NVML, or why there is none.
    pub gpu: String,
    pub crate_version: String,
    pub git_commit: String,
    /// The compiler, target, optimisation and features of this binary.
    #[serde(default)]
    pub build: BuildFacts,
}

/// How this binary was built: facts the build script records (vergen-gitcl), so that a
/// binary copied to another machine still says what produced its records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildFacts {
    /// `rustc` version (semver).
    pub rustc: String,
    pub target: String,
    /// The optimisation level of this crate (dependencies are at 3 in the dev profile).
    pub opt_level: String,
    /// Whether debug assertions were on.
    pub debug_assertions: bool,
    /// The cargo features of the harness (`vulkan`, `cuda`).
    pub features: String,
    /// burn's features that change how its GPU backends (CubeCL: Vulkan, CUDA) run: `autotune`
    /// (each operation's kernel chosen per shape by timing the candidates on the device) and,
    /// where built with it, `fusion` (element-wise chains compiled into one kernel). Neither
    /// applies to flex.
    #[serde(default)]
    pub burn_gpu_features: Vec<String>,
}

impl BuildFacts {
    pub fn of_this_binary() -> Self {
        Self {
            rustc: env!("VERGEN_RUSTC_SEMVER").to_string(),
            target: env!("VERGEN_CARGO_TARGET_TRIPLE").to_string(),
            opt_level: env!("VERGEN_CARGO_OPT_LEVEL").to_string(),
            debug_assertions: cfg!(debug_assertions),
            features: env!("VERGEN_CARGO_FEATURES").to_string(),
            burn_gpu_features: burn_gpu_features(),
        }
    }
}

/// [`BuildFacts::burn_gpu_features`] of this binary.
pub fn burn_gpu_features() -> Vec<String> {
    let on = [
        ("autotune", cfg!(feature = "gpu-speed")),
        ("persistence", cfg!(feature = "gpu-speed")),
        ("fusion", cfg!(feature = "fusion")),
    ];
    on.iter().filter(|(_, enabled)| *enabled).map(|(name, _)| name.to_string()).collect()
}

impl HostInfo {
    pub fn collect() -> Self {
        use sysinfo::System;
        let sys = System::new_all();
        let cpu = sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .unwrap_or_default();
        Self {
            hostname: System::host_name().unwrap_or_default(),
            os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_string()),
            cpu,
            cpu_cores: sys.cpus().len(),
            memory_bytes: sys.total_memory(),
            gpu: crate::memory::gpu_description(),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: git_commit(),
            build: BuildFacts::of_this_binary(),
        }
    }
}

/// The commit this binary was built from, `-dirty` when tracked files had uncommitted
/// changes (recorded by the build script, so that a copied binary still knows it).
pub fn build_commit() -> String {
    // what vergen writes where git could not say (no checkout, no git)
    const UNKNOWN: &str = "VERGEN_IDEMPOTENT_OUTPUT";
    match (env!("VERGEN_GIT_SHA"), env!("VERGEN_GIT_DIRTY")) {
        (UNKNOWN, _) => "unknown (not built from a git checkout)".to_string(),
        (sha, "true") => format!("{sha}-dirty"),
        (sha, _) => sha.to_string(),
    }
}

/// The commit of the code that runs: [`build_commit`].
pub fn git_commit() -> String {
    build_commit()
}

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
        }
    }
}

/// The commit this binary was built from, `-dirty` when the tree had uncommitted changes
/// (recorded by the build script, so that a copied binary still knows it).
pub fn build_commit() -> &'static str {
    env!("VPBENCH_BUILD_COMMIT")
}

/// The commit of the code that runs: [`build_commit`].
pub fn git_commit() -> String {
    build_commit().to_string()
}

//! Paths to the shared reference material beside the checkout.

use std::path::PathBuf;

/// `../shared` next to the repository (override with `VPBENCH_SHARED`).
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("VPBENCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.is_dir(),
        "reference material not found at {}: clone the repository beside shared/ or set VPBENCH_SHARED",
        dir.display()
    );
    dir
}

/// A public golden file by model id, e.g. `golden_file("ms-lstm")`.
pub fn golden_file(id: &str) -> PathBuf {
    shared_dir()
        .join("golden/public")
        .join(format!("{id}.safetensors"))
}

/// A file of the paper's reported numbers, e.g. `paper_file("reference_costs_mmnist.csv")`.
pub fn paper_file(name: &str) -> PathBuf {
    shared_dir().join("paper").join(name)
}

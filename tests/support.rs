//! Paths to the shared reference material beside the checkout, and shared test sizes.

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

/// A tiny recurrent configuration: 8x8 frames, 4 hidden, 6 layers, 2 in -> 3 out.
pub fn tiny_config() -> vpbench_models::ModelConfig {
    vpbench_models::ModelConfig {
        image_channels: 1,
        height: 8,
        width: 8,
        hidden: 4,
        layers: 6,
        kernel: 3,
        in_len: 2,
        out_len: 3,
    }
}

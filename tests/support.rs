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

/// The `.safetensors` files of `dir`, sorted; panics, naming `dir`, when there are none.
pub fn safetensors_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .safetensors files in {}", dir.display());
    files
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

/// A tiny non-recurrent configuration: 8x8 frames, 3 in -> 3 out.
pub fn tiny_nonrecurrent_config() -> vpbench_models::ModelConfig {
    vpbench_models::ModelConfig {
        hidden: 0,
        layers: 0,
        in_len: 3,
        out_len: 3,
        ..tiny_config()
    }
}

/// A tiny SimVP (4 -> 8 channels, two Inception kernels).
pub fn tiny_simvp() -> vpbench_models::simvp::SimVpConfig {
    vpbench_models::simvp::SimVpConfig {
        hid_s: 4,
        hid_t: 8,
        n_s: 4,
        n_t: 3,
        groups: 2,
        kernels: vec![3, 5],
    }
}

/// A tiny Earthformer (8 base units, depths 1 and 2, no dropout).
pub fn tiny_earthformer() -> vpbench_models::earthformer::EarthformerConfig {
    vpbench_models::earthformer::EarthformerConfig {
        base_units: 8,
        enc_depth: [1, 2],
        dec_depth: [1, 2],
        heads: 2,
        dropout: 0.0,
        norm_groups: 2,
        leak: 0.1,
    }
}

/// The Vulkan tests run on Mesa 26's lavapipe: the one bookworm ships (22.3.6) kills the
/// process compiling CubeCL's matrix product, which burn's autotune tries for every
/// convolution (benchmarks/lavapipe-matmul-crash.md). Called first in such a test: in the
/// `cargo test` process it runs this one test again in a copy of this test binary that loads
/// that lavapipe (`scripts/on-newer-lavapipe.sh`, which installs it into a private folder the
/// first time), shows its output, fails if it failed, and returns `false`; in that rerun it
/// returns `true`, and the test's body runs.
pub fn on_newer_lavapipe(test: &str) -> bool {
    if std::env::var_os("VPBENCH_NEWER_LAVAPIPE").is_some() {
        return true;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/on-newer-lavapipe.sh");
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{test} on Mesa 26's lavapipe ({}): {}", script.display(), out.status);
    false
}

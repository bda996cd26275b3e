//! Where the project's files (`configs/`: experiments, profiles, the paper's numbers, the CI
//! baseline) are found, so that a binary copied to another machine runs without the checkout.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, bail};
use include_dir::{Dir, include_dir};

/// `configs/` as it was when this binary was built.
static EMBEDDED_CONFIGS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../configs");

/// The folder holding `configs/`, in this order: `$VPBENCH_ROOT`; the current directory or
/// one above it that holds `configs/table3.toml` (a checkout: `cargo xtask` runs there);
/// else the configs embedded in the binary at build time, written once to a folder under
/// the system's temporary directory named by the build's commit.
pub fn root() -> anyhow::Result<PathBuf> {
    static ROOT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ROOT.get_or_init(|| find_root().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn is_root(dir: &Path) -> bool {
    dir.join("configs/table3.toml").is_file()
}

fn find_root() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("VPBENCH_ROOT").map(PathBuf::from) {
        if !is_root(&dir) {
            bail!(
                "VPBENCH_ROOT={}: expected a folder holding configs/table3.toml",
                dir.display()
            );
        }
        return Ok(dir);
    }
    let cwd = std::env::current_dir().context("the current directory cannot be read")?;
    if let Some(dir) = cwd.ancestors().find(|d| is_root(d)) {
        return Ok(dir.to_path_buf());
    }
    extract_embedded()
}

/// Writes the embedded `configs/` under the temporary directory (atomically: a half-written
/// folder is never taken for a whole one) and returns its root.
fn extract_embedded() -> anyhow::Result<PathBuf> {
    let root = std::env::temp_dir().join(format!("vpbench-root-{:016x}", content_hash()));
    if is_root(&root) {
        return Ok(root);
    }
    let staging = std::env::temp_dir().join(format!("vpbench-root-staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let configs = staging.join("configs");
    std::fs::create_dir_all(&configs)
        .with_context(|| format!("cannot create {}", configs.display()))?;
    EMBEDDED_CONFIGS
        .extract(&configs)
        .with_context(|| format!("cannot write the embedded configs to {}", configs.display()))?;
    match std::fs::rename(&staging, &root) {
        Ok(()) => Ok(root),
        // another process extracted it first
        Err(_) if is_root(&root) => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(root)
        }
        Err(e) => Err(e).with_context(|| format!("cannot move the configs to {}", root.display())),
    }
}

/// A hash of every embedded file's path and bytes: the extracted folder's name, so that a
/// binary with other configs never reads a folder another binary wrote.
fn content_hash() -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    fn visit(dir: &Dir<'_>, hasher: &mut DefaultHasher) {
        for file in dir.files() {
            file.path().hash(hasher);
            file.contents().hash(hasher);
        }
        for sub in dir.dirs() {
            visit(sub, hasher);
        }
    }
    let mut hasher = DefaultHasher::new();
    visit(&EMBEDDED_CONFIGS, &mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_configs_hold_every_table_and_the_paper_numbers() {
        let names: Vec<String> = super::EMBEDDED_CONFIGS
            .files()
            .map(|f| f.path().display().to_string())
            .collect();
        for table in 3..=11 {
            assert!(names.contains(&format!("table{table}.toml")), "{names:?}");
        }
        assert!(super::EMBEDDED_CONFIGS.get_file("paper/table3_ablation_mmnist.csv").is_some());
        assert!(super::EMBEDDED_CONFIGS.get_file("profiles/mmnist.toml").is_some());
    }
}

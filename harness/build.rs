//! Records the commit this binary is built from (and whether the tree had uncommitted
//! changes), so that a binary copied to another machine still says which code produced its
//! records.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // Rebuilt when the commit moves or any source of the workspace changes (the dirty flag).
    for path in [
        "../.git/HEAD",
        "../.git/index",
        "../.git/refs",
        "../models/src",
        "../datasets/src",
        "../harness/src",
        "../reports/src",
        "../xtask/src",
        "../configs",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = match git(&["rev-parse", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{commit}-dirty") } else { commit }
        }
        None => "unknown (not built from a git checkout)".to_string(),
    };
    println!("cargo:rustc-env=VPBENCH_BUILD_COMMIT={commit}");
}

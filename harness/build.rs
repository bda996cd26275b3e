//! Records what this binary is built from and with (commit, uncommitted changes, compiler,
//! target, optimisation, features) through vergen-gitcl, so that a binary copied to another
//! machine still says which code produced its records.

use vergen_gitcl::{Cargo, Emitter, Gitcl, Rustc};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The dirty flag depends on the sources too: rerun when any of the workspace's changes
    // (vergen adds the git HEAD and the branch ref it points to).
    for path in ["../models/src", "../datasets/src", "../harness/src", "../kernels/src", "../reports/src", "../xtask/src", "../configs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    // untracked files do not make a build dirty: only changes to tracked files do
    let git = Gitcl::builder().sha(false).dirty(false).build();
    let cargo = Cargo::builder().target_triple(true).opt_level(true).features(true).build();
    let rustc = Rustc::builder().semver(true).build();
    Emitter::default()
        .add_instructions(&git)?
        .add_instructions(&cargo)?
        .add_instructions(&rustc)?
        .emit()?;
    Ok(())
}

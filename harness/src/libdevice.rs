//! libdevice, the CUDA math library that burn's CUDA kernels link when they call exp, tanh,
//! log, pow or erf (every sigmoid and tanh gate): CubeCL compiles kernels to PTX through LLVM
//! and reads `nvvm/libdevice/libdevice.10.bc` from `$CUDA_PATH`, or else from the first of
//! its usual toolkit folders that has `nvvm/libdevice` (`cubecl-llvm`, `nvptx/libdevice.rs`).
//! A GPU node with only the driver has none, so `cargo xtask build-gpu` puts the file from
//! PyPI's `nvidia-cuda-nvcc-cu12` wheel beside the binary (`cuda/nvvm/libdevice/`), and the
//! binary points `CUDA_PATH` there when nothing else provides it.

use std::path::{Path, PathBuf};

/// Where the bitcode lies under a toolkit root.
pub const IN_ROOT: &str = "nvvm/libdevice/libdevice.10.bc";
/// The toolkit folders CubeCL tries when `CUDA_PATH` is unset, in its order.
pub const TOOLKIT_ROOTS: [&str; 4] = ["/usr/local/cuda", "/opt/cuda", "/usr/lib/cuda", "/usr"];
/// The root beside the binary that `build-gpu` fills.
pub const BESIDE_BINARY: &str = "cuda";

/// Where libdevice was found, and whether `CUDA_PATH` must be pointed there for CubeCL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub file: PathBuf,
    /// `Some(root)`: CubeCL would not look there; set `CUDA_PATH=root`.
    pub set_cuda_path: Option<PathBuf>,
}

/// Finds libdevice as CubeCL will look for it, then beside the binary. The error names every
/// place looked at and the fix.
pub fn locate(cuda_path: Option<&Path>, roots: &[&Path], exe_dir: Option<&Path>) -> Result<Found, String> {
    let mut looked = Vec::new();
    if let Some(root) = cuda_path {
        let file = root.join(IN_ROOT);
        if file.is_file() {
            return Ok(Found { file, set_cuda_path: None });
        }
        // CubeCL looks nowhere else once CUDA_PATH is set
        return Err(missing(&[format!("{} (CUDA_PATH is set, so CubeCL looks only there)", file.display())]));
    }
    if let Some(root) = roots.iter().find(|r| r.join("nvvm/libdevice").is_dir()) {
        let file = root.join(IN_ROOT);
        if file.is_file() {
            return Ok(Found { file, set_cuda_path: None });
        }
        looked.push(format!("{} (CubeCL takes the first toolkit folder with nvvm/libdevice)", file.display()));
    } else {
        looked.extend(roots.iter().map(|r| r.join(IN_ROOT).display().to_string()));
    }
    if let Some(dir) = exe_dir {
        let root = dir.join(BESIDE_BINARY);
        let file = root.join(IN_ROOT);
        if file.is_file() {
            return Ok(Found { file, set_cuda_path: Some(root) });
        }
        looked.push(file.display().to_string());
    }
    Err(missing(&looked))
}

fn missing(looked: &[String]) -> String {
    format!(
        "libdevice.10.bc, the CUDA math library burn's CUDA kernels link (exp, tanh, log, pow, erf), \
         was not found (looked at: {}). Fix: carry the `cuda/` folder that `cargo xtask build-gpu` \
         writes beside the binary, or `pip install nvidia-cuda-nvcc-cu12` and set \
         CUDA_PATH=<site-packages>/nvidia/cuda_nvcc, or install a CUDA toolkit",
        looked.join(", ")
    )
}

/// [`locate`] for this process: its `CUDA_PATH`, CubeCL's folders, the binary's folder.
pub fn locate_for_this_process() -> Result<Found, String> {
    let cuda_path = std::env::var_os("CUDA_PATH").map(PathBuf::from);
    let exe = std::env::current_exe().ok();
    let roots: Vec<&Path> = TOOLKIT_ROOTS.iter().map(Path::new).collect();
    locate(cuda_path.as_deref(), &roots, exe.as_deref().and_then(Path::parent))
}

/// At the start of `main`, before any thread: points `CUDA_PATH` at the libdevice beside the
/// binary where CubeCL would find none of its own. Builds without CUDA do nothing.
pub fn prepare_at_start() {
    if !cfg!(feature = "cuda") {
        return;
    }
    if let Ok(Found { set_cuda_path: Some(root), .. }) = locate_for_this_process() {
        // SAFETY: called first in `main`, while the process has one thread
        unsafe { std::env::set_var("CUDA_PATH", root) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_libdevice(root: &Path) {
        std::fs::create_dir_all(root.join("nvvm/libdevice")).unwrap();
        std::fs::write(root.join(IN_ROOT), b"BC").unwrap();
    }

    #[test]
    fn a_missing_libdevice_is_an_error_naming_each_place_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let roots = [dir.path().join("usr-local-cuda"), dir.path().join("opt-cuda")];
        let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
        let exe_dir = dir.path().join("dist");
        let why = locate(None, &roots, Some(&exe_dir)).unwrap_err();
        for place in [&roots[0].join(IN_ROOT), &roots[1].join(IN_ROOT), &exe_dir.join("cuda").join(IN_ROOT)] {
            assert!(why.contains(&place.display().to_string()), "{why}");
        }
        assert!(why.contains("nvidia-cuda-nvcc-cu12") && why.contains("build-gpu"), "{why}");
    }

    #[test]
    fn the_copy_beside_the_binary_is_used_where_cubecl_would_find_none() {
        let dir = tempfile::tempdir().unwrap();
        let exe_dir = dir.path().join("dist");
        with_libdevice(&exe_dir.join("cuda"));
        let root = dir.path().join("usr-local-cuda");
        let found = locate(None, &[&root], Some(&exe_dir)).unwrap();
        assert_eq!(found.set_cuda_path, Some(exe_dir.join("cuda")));
        // a toolkit CubeCL finds itself wins, and CUDA_PATH is left alone
        with_libdevice(&root);
        let found = locate(None, &[&root], Some(&exe_dir)).unwrap();
        assert_eq!((found.file, found.set_cuda_path), (root.join(IN_ROOT), None));
    }

    #[test]
    fn a_cuda_path_without_libdevice_is_an_error_even_where_another_copy_exists() {
        let dir = tempfile::tempdir().unwrap();
        let exe_dir = dir.path().join("dist");
        with_libdevice(&exe_dir.join("cuda"));
        let why = locate(Some(&dir.path().join("toolkit")), &[], Some(&exe_dir)).unwrap_err();
        assert!(why.contains("CUDA_PATH is set"), "{why}");
    }

    #[test]
    fn a_toolkit_folder_without_the_file_is_passed_over_through_cuda_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("usr");
        std::fs::create_dir_all(root.join("nvvm/libdevice")).unwrap();
        let exe_dir = dir.path().join("dist");
        // CubeCL would take `root` and fail there; CUDA_PATH, which it reads first, avoids it
        let why = locate(None, &[&root], Some(&exe_dir)).unwrap_err();
        assert!(why.contains("first toolkit folder"), "{why}");
        with_libdevice(&exe_dir.join("cuda"));
        let found = locate(None, &[&root], Some(&exe_dir)).unwrap();
        assert_eq!(found.set_cuda_path, Some(exe_dir.join("cuda")));
    }
}

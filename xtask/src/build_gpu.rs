//! `cargo xtask build-gpu`: the one binary to carry to a GPU machine, with burn's CUDA and
//! Vulkan backends, built offline.
//!
//! burn 0.22's CUDA backend compiles its kernels to PTX through LLVM 23.1, which the build
//! script of `tracel-llvm-bundler` downloads unless `$XDG_DATA_HOME/tracel/<version>/` holds
//! an LLVM with a marker file. PyPI's `mlc-llvm-static` wheels (and their NVPTX target) are
//! exactly such an LLVM: they are fetched with pip and unpacked there. cudarc needs no CUDA
//! toolkit at build time (`CUDARC_CUDA_VERSION` skips its nvcc probe); libcuda and NVRTC are
//! loaded at run time on the GPU machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use vpbench_harness::atomic::{write_atomic, write_atomic_with};

/// The LLVM that `tracel-llvm-bundler` 23.1.0-4 looks for, and the wheels that provide it.
const LLVM_DIR: &str = "tracel-llvm-23.1.0-4";
const LLVM_MARKER: &str = ".tracel-llvm-installed";
const LLVM_WHEELS: [&str; 2] = [
    "mlc-llvm-static==23.1.1.post0",
    "mlc-llvm-static-extra-targets==23.1.1.post0",
];
/// A transfer to a lent GPU machine carries at most 64 MiB.
const MAX_BINARY_BYTES: u64 = 64 << 20;

#[derive(Args, Debug)]
pub struct BuildGpuArgs {
    /// Folder for the compressed binary.
    #[arg(long, default_value = "dist")]
    pub out: PathBuf,
    /// The CUDA driver API version cudarc binds (13000 = CUDA 13.0, 12080 = 12.8).
    #[arg(long, default_value = "13000")]
    pub cuda_version: String,
    /// Build without the Vulkan backend (CUDA only).
    #[arg(long)]
    pub no_vulkan: bool,
}

pub fn run(args: &BuildGpuArgs) -> anyhow::Result<bool> {
    let root = crate::workspace_root();
    let llvm = ensure_llvm()?;
    println!("build-gpu: LLVM 23.1 at {}", llvm.display());
    let features = if args.no_vulkan { "cuda" } else { "cuda,vulkan" };
    let target_dir = root.join("target/gpu");
    let started = Instant::now();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--locked", "--profile", "gpu", "-p", "xtask", "--features", features])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CUDARC_CUDA_VERSION", &args.cuda_version)
        .current_dir(&root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build with features {features} failed ({status})");
    }
    let built = target_dir.join("gpu/xtask");
    let commit = vpbench_harness::host::build_commit();
    let short = &commit[..commit.len().min(12)];
    std::fs::create_dir_all(&args.out)?;
    let packed = args.out.join(format!("xtask-gpu-{short}.xz"));
    compress(&built, &packed)?;
    let libdevice = ensure_libdevice(&args.out)?;
    println!("build-gpu: libdevice (CUDA math library, from PyPI) at {}", libdevice.display());
    let (raw, small) = (std::fs::metadata(&built)?.len(), std::fs::metadata(&packed)?.len());
    println!(
        "build-gpu: {} ({:.1} MB, stripped) -> {} ({:.1} MB, xz) in {:.1} min",
        built.display(),
        raw as f64 / 1e6,
        packed.display(),
        small as f64 / 1e6,
        started.elapsed().as_secs_f64() / 60.0
    );
    println!(
        "build-gpu: on the GPU machine, in a checkout of this commit: xz -dk {0} && chmod +x {1} && \
         bash benchmarks/gpu-report.sh {1} cuda:0 ../shared/golden/public OUT_DIR",
        packed.display(),
        packed.with_extension("").display()
    );
    if small > MAX_BINARY_BYTES {
        bail!("{} is {small} bytes, over the 64 MiB a device transfer carries", packed.display());
    }
    Ok(true)
}

/// `$XDG_DATA_HOME` (default `~/.local/share`), where the LLVM bundler looks.
fn data_home() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").context("neither XDG_DATA_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".local/share"))
}

/// The LLVM folder the bundler accepts, fetched from PyPI and unpacked if it is not there.
fn ensure_llvm() -> anyhow::Result<PathBuf> {
    let data = data_home()?;
    let target = data.join("tracel").join(LLVM_DIR);
    if target.join(LLVM_MARKER).is_file() && target.join("bin/llvm-config").exists() {
        return Ok(target);
    }
    let cache = data.join("vpbench");
    let wheels = cache.join("llvm-wheels");
    let unpacked = cache.join("llvm-23.1");
    println!("build-gpu: fetching {} from PyPI (about 92 MB)", LLVM_WHEELS.join(" + "));
    run_checked(
        Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d"])
            .arg(&wheels)
            .args(LLVM_WHEELS),
        "pip download of the LLVM wheels (python3 >= 3.10 with pip)",
    )?;
    let _ = std::fs::remove_dir_all(&unpacked);
    for wheel in std::fs::read_dir(&wheels)?.filter_map(|e| e.ok()).map(|e| e.path()) {
        if wheel.extension().is_some_and(|e| e == "whl") {
            run_checked(
                Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked),
                "unpacking an LLVM wheel",
            )?;
        }
    }
    let llvm = unpacked.join("mlc_llvm_static/static");
    if !llvm.join("bin/llvm-config").exists() {
        bail!("{}: the wheels hold no bin/llvm-config", llvm.display());
    }
    // the wheel's llvm-config is a Python script; zipfile drops the executable bit
    make_executable(&llvm.join("bin/llvm-config"))?;
    std::fs::create_dir_all(target.parent().unwrap())?;
    let _ = std::fs::remove_file(&target);
    let _ = std::fs::remove_dir_all(&target);
    std::os::unix::fs::symlink(&llvm, &target)
        .with_context(|| format!("cannot link {} to {}", target.display(), llvm.display()))?;
    write_atomic(&target.join(LLVM_MARKER), b"vpbench build-gpu: mlc-llvm-static 23.1.1.post0 from PyPI\n")?;
    Ok(target)
}

/// The CUDA wheel that holds libdevice, and the file inside it.
const LIBDEVICE_WHEEL: &str = "nvidia-cuda-nvcc-cu12==12.8.93";
const LIBDEVICE_IN_WHEEL: &str = "nvidia/cuda_nvcc/nvvm/libdevice/libdevice.10.bc";

/// Puts libdevice beside the binary (`OUT/cuda/nvvm/libdevice/`), where the binary finds it
/// on a GPU node that has only the driver (`vpbench_harness::libdevice`).
fn ensure_libdevice(out: &Path) -> anyhow::Result<PathBuf> {
    use vpbench_harness::libdevice::{BESIDE_BINARY, IN_ROOT};
    let target = out.join(BESIDE_BINARY).join(IN_ROOT);
    if target.is_file() {
        return Ok(target);
    }
    let wheels = data_home()?.join("vpbench/libdevice-wheel");
    println!("build-gpu: fetching {LIBDEVICE_WHEEL} from PyPI for its libdevice.10.bc");
    run_checked(
        Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--platform", "manylinux2014_x86_64", "-d"])
            .arg(&wheels)
            .arg(LIBDEVICE_WHEEL),
        "pip download of the CUDA compiler wheel (python3 with pip)",
    )?;
    let wheel = std::fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .with_context(|| format!("{}: no wheel after pip download", wheels.display()))?;
    let script = "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))";
    std::fs::create_dir_all(target.parent().unwrap())?;
    write_atomic_with(&target, |file| {
        run_checked(
            Command::new("python3").args(["-c", script]).arg(&wheel).arg(LIBDEVICE_IN_WHEEL).stdout(file.try_clone()?),
            "reading libdevice.10.bc out of the wheel",
        )
    })?;
    Ok(target)
}

fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_mode(permissions.mode() | 0o755);
    std::fs::set_permissions(path, permissions)?;
    Ok(())
}

/// `xz -6` into `packed`, atomically.
fn compress(binary: &Path, packed: &Path) -> anyhow::Result<()> {
    write_atomic_with(packed, |file| {
        run_checked(
            Command::new("xz").args(["-6", "-T0", "-c"]).arg(binary).stdout(file.try_clone()?),
            "xz (Debian: xz-utils)",
        )
    })
}

fn run_checked(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

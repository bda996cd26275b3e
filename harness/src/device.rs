//! The compute device a sweep runs on.

use anyhow::bail;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use vpbench_kernels::threads::with_workers_awake;

/// A burn device and how records describe it.
#[derive(Clone, Debug)]
pub struct ComputeDevice {
    pub device: Device,
    /// As given on the command line (`cpu`, `cuda:0`, `vulkan:cpu`).
    pub name: String,
    pub backend: String,
    /// The adapter the backend opened (GPU backends only).
    pub adapter: Option<AdapterInfo>,
    /// Data parallel: every device a training step is shared across, this one first
    /// (empty for a single device).
    pub data_parallel: Vec<Device>,
}

/// Who the device is, as its driver reports it: what every record carries, and the PCI bus id
/// that finds the same card in NVML (positions differ between Vulkan, CUDA and NVML).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdapterInfo {
    pub name: String,
    /// The driver and its version (`NVIDIA 570.86.15`, `llvmpipe: Mesa 22.3.6 (LLVM 15.0.6)`).
    pub driver: String,
    /// `domain:bus:device.function`; `None` for a device that is no card (lavapipe).
    pub pci_bus_id: Option<String>,
}

/// The Mesa major version in a lavapipe driver line (`llvmpipe: Mesa 22.3.6 (LLVM 15.0.6)`).
pub fn mesa_major(driver: &str) -> Option<u32> {
    driver.split("Mesa ").nth(1)?.split('.').next()?.parse().ok()
}

/// Whether this build has a GPU backend (the `vulkan` or `cuda` feature).
pub const GPU_BUILD: bool = cfg!(any(feature = "vulkan", feature = "cuda"));

const DEVICE_FORMS: &str =
    "expected 'cpu', 'cuda:N', 'gpu:N', 'vulkan:N' or 'vulkan:cpu' (a CPU Vulkan driver such as lavapipe)";

/// Which backend and adapter a `--device` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    /// burn's flex backend.
    Flex,
    /// burn's CUDA backend, GPU N (builds with the `cuda` feature).
    Cuda(u32),
    /// burn's wgpu backend on Vulkan: the N-th discrete GPU.
    VulkanGpu(u32),
    /// burn's wgpu backend on Vulkan: a CPU-type adapter (Mesa's lavapipe).
    VulkanCpu,
}

impl DeviceSpec {
    /// `cuda:N` and `gpu:N` go to the CUDA backend when the build has it, else to Vulkan;
    /// `vulkan:N` is always Vulkan.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        if spec == "cpu" {
            return Ok(Self::Flex);
        }
        if spec == "vulkan:cpu" {
            return Ok(Self::VulkanCpu);
        }
        let Some((kind, index)) = spec.split_once(':') else {
            bail!("--device {spec}: {DEVICE_FORMS}");
        };
        let index: u32 = match (["cuda", "gpu", "vulkan"].contains(&kind), index.parse()) {
            (true, Ok(i)) => i,
            (true, Err(_)) => bail!("--device {spec}: expected {kind}:N with N a GPU index"),
            (false, _) => bail!("--device {spec}: {DEVICE_FORMS}"),
        };
        Ok(match kind {
            "vulkan" => Self::VulkanGpu(index),
            _ if cfg!(feature = "cuda") => Self::Cuda(index),
            _ => Self::VulkanGpu(index),
        })
    }
}

impl ComputeDevice {
    /// Parses and opens a `--device` (see [`DeviceSpec::parse`]).
    ///
    /// A comma-separated list (`cuda:0,cuda:1,cuda:2,cuda:3`) trains data parallel over those
    /// devices: each step's batch is split across them and their gradients summed on the first.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        if spec.contains(',') {
            let devices = spec
                .split(',')
                .map(|s| Self::parse(s.trim()))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let first = devices[0].clone();
            return Ok(Self {
                name: spec.to_string(),
                backend: format!(
                    "{}, data parallel over {} devices",
                    first.backend,
                    devices.len()
                ),
                data_parallel: devices.into_iter().map(|d| d.device).collect(),
                ..first
            });
        }
        let (device, backend) = match DeviceSpec::parse(spec)? {
            DeviceSpec::Flex => {
                return Ok(Self {
                    device: Device::flex(),
                    name: "cpu".into(),
                    backend: "burn 0.22 flex (CPU, f32)".into(),
                    adapter: None,
                    data_parallel: Vec::new(),
                });
            }
            other => gpu::open(spec, other)?,
        };
        let adapter = gpu::adapter_info(&device);
        let opened = Self {
            device,
            name: spec.to_string(),
            backend: backend.into(),
            adapter,
            data_parallel: Vec::new(),
        };
        opened.refuse_crashing_lavapipe()?;
        Ok(opened)
    }

    /// Lavapipe before Mesa 26 (Debian bookworm's 22.3.6, its backports' 25.0.7, both on LLVM
    /// 15) kills the process (SIGSEGV in its shader compiler) compiling CubeCL's matrix product,
    /// which burn's autotune tries for every convolution: one clear error instead of a crash
    /// (benchmarks/lavapipe-matmul-crash.md).
    fn refuse_crashing_lavapipe(&self) -> anyhow::Result<()> {
        let driver = self.adapter.as_ref().map_or("", |a| a.driver.as_str());
        let autotune = crate::host::burn_gpu_features().iter().any(|f| f == "autotune");
        if self.is_lavapipe() && autotune && mesa_major(driver).is_none_or(|major| major < 26) {
            bail!(
                "--device {}: {} crashes compiling CubeCL's matrix product, which burn's autotune tries \
                 for every convolution; run on Mesa 26's lavapipe: `bash scripts/on-newer-lavapipe.sh \
                 PROGRAM ARGS` (it installs it into a private folder)",
                self.name,
                self.adapter_label()
            );
        }
        Ok(())
    }

    /// Whether burn's flex backend computes on this process's own CPU threads.
    pub fn is_flex(&self) -> bool {
        DeviceSpec::parse(&self.name).is_ok_and(|spec| spec == DeviceSpec::Flex)
    }

    /// Runs `work`, a computation that owns this device (a training run, a benchmarked
    /// model): on flex the compute pool's idle workers poll for work meanwhile
    /// ([`with_workers_awake`]); a GPU backend's host threads only wait, so there it runs alone.
    pub fn compute<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        if self.is_flex() { with_workers_awake(work) } else { work() }
    }

    /// burn's features that apply on this device: the GPU backends' `autotune` and `fusion`
    /// where this build has them; none on flex.
    pub fn burn_features(&self) -> Vec<String> {
        if self.is_flex() { Vec::new() } else { crate::host::burn_gpu_features() }
    }

    /// Whether the device is a GPU card (NVML can watch it).
    pub fn is_gpu_card(&self) -> bool {
        self.adapter
            .as_ref()
            .is_some_and(|a| a.pci_bus_id.is_some())
    }

    /// Whether the adapter is Mesa's lavapipe (a Vulkan driver on the CPU).
    pub fn is_lavapipe(&self) -> bool {
        self.adapter
            .as_ref()
            .is_some_and(|a| a.name.starts_with("llvmpipe"))
    }

    /// The adapter in words, for records and tables: `NVIDIA H200 (NVIDIA 570.86)`.
    pub fn adapter_label(&self) -> String {
        match &self.adapter {
            Some(a) if a.driver.is_empty() => a.name.clone(),
            Some(a) => format!("{} ({})", a.name, a.driver),
            None => String::new(),
        }
    }
}

#[cfg(any(feature = "vulkan", feature = "cuda"))]
mod gpu {
    use super::{AdapterInfo, DeviceSpec};
    use anyhow::bail;
    use burn::tensor::{Device, DeviceKind};

    /// Opens the device now, quietly, so that a missing GPU or driver is one clear error:
    /// the backends open their adapter lazily and panic (in their own thread) without one.
    pub fn open(spec: &str, which: DeviceSpec) -> anyhow::Result<(Device, &'static str)> {
        let (device, backend) = match which {
            DeviceSpec::Flex => unreachable!("flex is no GPU backend"),
            DeviceSpec::Cuda(index) => cuda(spec, index)?,
            DeviceSpec::VulkanGpu(index) => vulkan(spec, DeviceKind::DiscreteGpu(index as usize))?,
            DeviceSpec::VulkanCpu => vulkan(spec, DeviceKind::Cpu)?,
        };
        let probe = crate::panic::catch_quietly(|| {
            burn::tensor::Tensor::<1>::zeros([1], &device).into_data()
        });
        if let Err(why) = probe {
            let needs = match which {
                DeviceSpec::Cuda(_) => "the CUDA backend needs the NVIDIA driver (libcuda.so.1) and NVRTC",
                DeviceSpec::VulkanCpu => {
                    "a CPU Vulkan driver needs libvulkan.so.1 and Mesa's lavapipe (Debian: apt-get install libvulkan1 mesa-vulkan-drivers, as `bash scripts/install-system-deps.sh` does)"
                }
                _ => "a Vulkan GPU needs the NVIDIA driver's Vulkan ICD and libvulkan.so.1 (README, GPU)",
            };
            bail!("--device {spec}: the device could not be opened ({why}); {needs}");
        }
        Ok((device, backend))
    }

    #[cfg(feature = "vulkan")]
    fn vulkan(_spec: &str, kind: DeviceKind) -> anyhow::Result<(Device, &'static str)> {
        Ok((
            Device::vulkan(kind),
            "burn 0.22 wgpu on Vulkan (SPIR-V kernels, f32)",
        ))
    }

    #[cfg(not(feature = "vulkan"))]
    fn vulkan(spec: &str, _kind: DeviceKind) -> anyhow::Result<(Device, &'static str)> {
        bail!("--device {spec}: this build has no Vulkan backend (build with --features vulkan)")
    }

    #[cfg(feature = "cuda")]
    fn cuda(spec: &str, index: u32) -> anyhow::Result<(Device, &'static str)> {
        // without it the first gate's kernel fails to compile, in a backend thread
        crate::libdevice::locate_for_this_process().map_err(|why| anyhow::anyhow!("--device {spec}: {why}"))?;
        Ok((
            Device::cuda(index as usize),
            "burn 0.22 CUDA (CubeCL, LLVM-compiled PTX, f32)",
        ))
    }

    #[cfg(not(feature = "cuda"))]
    fn cuda(spec: &str, _index: u32) -> anyhow::Result<(Device, &'static str)> {
        bail!("--device {spec}: this build has no CUDA backend (cargo xtask build-gpu)")
    }

    /// The opened adapter's name and PCI bus id (burn's device identity) and its driver
    /// (wgpu's adapter report on Vulkan; NVML's driver version on an NVIDIA card).
    pub fn adapter_info(device: &Device) -> Option<AdapterInfo> {
        let identity = device.identity()?;
        let pci_bus_id = identity
            .physical
            .as_ref()
            .and_then(|p| p.pci_address)
            .map(|a| a.to_string());
        let driver = vulkan_driver(&identity.name)
            .or_else(crate::memory::nvidia_driver)
            .unwrap_or_default();
        Some(AdapterInfo {
            name: identity.name,
            driver,
            pci_bus_id,
        })
    }

    /// The Vulkan driver of the adapter called `name`, as wgpu reports it.
    #[cfg(feature = "vulkan")]
    fn vulkan_driver(name: &str) -> Option<String> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::VULKAN,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters =
            futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::VULKAN));
        adapters.iter().map(|a| a.get_info()).find_map(|info| {
            (info.name == name).then(|| format!("{}: {}", info.driver, info.driver_info))
        })
    }

    #[cfg(not(feature = "vulkan"))]
    fn vulkan_driver(_name: &str) -> Option<String> {
        None
    }
}

#[cfg(not(any(feature = "vulkan", feature = "cuda")))]
mod gpu {
    use super::{AdapterInfo, DeviceSpec};
    use burn::tensor::Device;

    pub fn open(spec: &str, _which: DeviceSpec) -> anyhow::Result<(Device, &'static str)> {
        anyhow::bail!(
            "--device {spec}: this build has no GPU backend; build with `--features vulkan` or `cargo xtask build-gpu` (README, GPU), or use --device cpu"
        )
    }

    pub fn adapter_info(_device: &Device) -> Option<AdapterInfo> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::DeviceSpec;

    #[test]
    fn device_specs_name_a_backend_and_an_adapter() {
        assert_eq!(DeviceSpec::parse("cpu").unwrap(), DeviceSpec::Flex);
        assert_eq!(DeviceSpec::parse("vulkan:cpu").unwrap(), DeviceSpec::VulkanCpu);
        assert_eq!(DeviceSpec::parse("vulkan:1").unwrap(), DeviceSpec::VulkanGpu(1));
        // cuda:N is CUDA where the build has it, else the same GPU on Vulkan
        let cuda = if cfg!(feature = "cuda") {
            DeviceSpec::Cuda(2)
        } else {
            DeviceSpec::VulkanGpu(2)
        };
        assert_eq!(DeviceSpec::parse("cuda:2").unwrap(), cuda);
        assert_eq!(DeviceSpec::parse("gpu:2").unwrap(), cuda);
        for (bad, says) in [
            ("tpu:0", "expected 'cpu', 'cuda:N'"),
            ("cuda:x", "expected cuda:N with N a GPU index"),
            ("vulkan", "'vulkan:cpu'"),
        ] {
            let e = DeviceSpec::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(bad), "{bad}: {e}");
        }
    }
}

//! The compute device a sweep runs on.

use anyhow::bail;
use burn::tensor::Device;

/// A burn device and how records describe it.
#[derive(Clone, Debug)]
pub struct ComputeDevice {
    pub device: Device,
    /// As given on the command line (`cpu`, `cuda:0`).
    pub name: String,
    pub backend: String,
    /// NVML index of the GPU, for memory sampling.
    pub gpu_index: Option<u32>,
    /// Data parallel: every device a training step is shared across, this one first
    /// (empty for a single device).
    pub data_parallel: Vec<Device>,
}

/// Whether this build has a GPU backend (the `vulkan` feature).
pub const GPU_BUILD: bool = cfg!(feature = "vulkan");

impl ComputeDevice {
    /// Parses `cpu`, or `cuda:N` / `gpu:N` / `vulkan:N` (the N-th discrete GPU, driven by
    /// burn's wgpu backend on Vulkan in a build with the `vulkan` feature).
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
        if spec == "cpu" {
            return Ok(Self {
                device: Device::flex(),
                name: "cpu".into(),
                backend: "burn 0.22 flex (CPU, f32)".into(),
                gpu_index: None,
                data_parallel: Vec::new(),
            });
        }
        let Some((kind, index)) = spec.split_once(':') else {
            bail!("--device {spec}: expected 'cpu' or 'cuda:N' (also 'gpu:N', 'vulkan:N')");
        };
        if !["cuda", "gpu", "vulkan"].contains(&kind) {
            bail!("--device {spec}: expected 'cpu' or 'cuda:N' (also 'gpu:N', 'vulkan:N')");
        }
        let index: u32 = index.parse().map_err(|_| {
            anyhow::anyhow!("--device {spec}: expected {kind}:N with N a GPU index")
        })?;
        gpu_device(spec, index)
    }
}

#[cfg(feature = "vulkan")]
fn gpu_device(spec: &str, index: u32) -> anyhow::Result<ComputeDevice> {
    let device = Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(index as usize));
    // wgpu opens the adapter lazily and panics (in its own thread) when there is none: open
    // it now, quietly, so that a missing GPU or Vulkan driver is one clear error.
    let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = messages.clone();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut m) = seen.lock() {
            m.push(crate::panic::panic_message(info.payload()));
        }
    }));
    let probe =
        std::panic::catch_unwind(|| burn::tensor::Tensor::<1>::zeros([1], &device).into_data());
    std::panic::set_hook(hook);
    if probe.is_err() {
        // the adapter thread's message says why; the caller's only that the thread died
        let why = messages
            .lock()
            .map(|m| m.first().cloned().unwrap_or_default())
            .unwrap_or_default();
        bail!(
            "--device {spec}: no Vulkan GPU {index} could be opened ({why}); a GPU needs the NVIDIA driver's Vulkan ICD and libvulkan.so.1 (README, GPU)"
        );
    }
    Ok(ComputeDevice {
        device,
        name: spec.to_string(),
        backend: "burn 0.22 wgpu on Vulkan (SPIR-V kernels, f32)".into(),
        gpu_index: Some(index),
        data_parallel: Vec::new(),
    })
}

#[cfg(not(feature = "vulkan"))]
fn gpu_device(spec: &str, _index: u32) -> anyhow::Result<ComputeDevice> {
    bail!(
        "--device {spec}: this build has no GPU backend; build with `--features vulkan` (see README, GPU) or use --device cpu"
    )
}

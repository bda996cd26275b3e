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
}

/// Whether this build has a GPU backend (the `vulkan` feature).
pub const GPU_BUILD: bool = cfg!(feature = "vulkan");

impl ComputeDevice {
    /// Parses `cpu`, or `cuda:N` / `gpu:N` / `vulkan:N` (the N-th discrete GPU, driven by
    /// burn's wgpu backend on Vulkan in a build with the `vulkan` feature).
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        if spec == "cpu" {
            return Ok(Self {
                device: Device::flex(),
                name: "cpu".into(),
                backend: "burn 0.22 flex (CPU, f32)".into(),
                gpu_index: None,
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
    Ok(ComputeDevice {
        device: Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(index as usize)),
        name: spec.to_string(),
        backend: "burn 0.22 wgpu on Vulkan (SPIR-V kernels, f32)".into(),
        gpu_index: Some(index),
    })
}

#[cfg(not(feature = "vulkan"))]
fn gpu_device(spec: &str, _index: u32) -> anyhow::Result<ComputeDevice> {
    bail!(
        "--device {spec}: this build has no GPU backend; build with `--features vulkan` (see README, GPU) or use --device cpu"
    )
}

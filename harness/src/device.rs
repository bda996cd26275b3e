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

impl ComputeDevice {
    /// Parses `cpu` or `cuda:N`.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        match spec {
            "cpu" => Ok(Self {
                device: Device::flex(),
                name: "cpu".into(),
                backend: "burn 0.22 flex (CPU, f32)".into(),
                gpu_index: None,
            }),
            s if s.starts_with("cuda:") => {
                let index: u32 = s[5..].parse().map_err(|_| {
                    anyhow::anyhow!("--device {s}: expected cuda:N with N a GPU index")
                })?;
                bail!(
                    "--device cuda:{index}: this build has no GPU backend; only --device cpu is available"
                )
            }
            other => bail!("--device {other}: expected 'cpu' or 'cuda:N'"),
        }
    }
}

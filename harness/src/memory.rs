//! Peak memory of a run: process peak RSS on CPU; NVML per-process and device peaks,
//! sampled by a thread, on NVIDIA GPUs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a run's memory peak was, and how it was measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryPeak {
    /// Peak resident set size of the process during the run (Linux VmHWM, reset at the
    /// start of each run), bytes.
    pub process_peak_rss_bytes: Option<u64>,
    /// NVML: peak memory used by this process on the GPU, bytes.
    pub gpu_process_peak_bytes: Option<u64>,
    /// NVML: peak memory used on the whole GPU, bytes.
    pub gpu_device_peak_bytes: Option<u64>,
    /// burn's memory-pool peak (CubeCL backends only), bytes.
    pub pool_peak_bytes: Option<u64>,
    /// Which of the above is the headline number, in words.
    pub measured_as: String,
}

impl MemoryPeak {
    /// The number reports show: the GPU process peak where measured, else peak RSS.
    pub fn headline_bytes(&self) -> Option<u64> {
        self.gpu_process_peak_bytes.or(self.process_peak_rss_bytes)
    }
}

/// Resets the kernel's peak-RSS counter of this process (Linux; no-op elsewhere).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// VmHWM of this process in bytes (Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// GPU name and driver through NVML, or why none is reported.
pub fn gpu_description() -> String {
    match nvml_wrapper::Nvml::init() {
        Ok(nvml) => {
            let driver = nvml.sys_driver_version().unwrap_or_default();
            let names: Vec<String> = (0..nvml.device_count().unwrap_or(0))
                .filter_map(|i| nvml.device_by_index(i).ok()?.name().ok())
                .collect();
            if names.is_empty() {
                format!("NVML present (driver {driver}) but no GPU")
            } else {
                format!("{} (driver {driver})", names.join(", "))
            }
        }
        Err(e) => format!(
            "no NVIDIA GPU: NVML not available ({})",
            short_reason(&e.to_string())
        ),
    }
}

/// The part of a loader error worth printing (the library that was missing).
fn short_reason(error: &str) -> String {
    error.rsplit(": ").nth(1).unwrap_or(error).to_string()
}

/// Samples NVML at a fixed interval for device `index` until stopped.
pub struct NvmlSampler {
    stop: Arc<AtomicBool>,
    process_peak: Arc<AtomicU64>,
    device_peak: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

impl NvmlSampler {
    /// Starts sampling, or returns why it cannot (no NVML, no such GPU).
    pub fn start(index: u32, interval: Duration) -> Result<Self, String> {
        let nvml = nvml_wrapper::Nvml::init().map_err(|e| format!("NVML not available: {e}"))?;
        nvml.device_by_index(index)
            .map_err(|e| format!("NVML has no GPU {index}: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let process_peak = Arc::new(AtomicU64::new(0));
        let device_peak = Arc::new(AtomicU64::new(0));
        let (s, pp, dp) = (stop.clone(), process_peak.clone(), device_peak.clone());
        let pid = std::process::id();
        let handle = std::thread::spawn(move || {
            let Ok(device) = nvml.device_by_index(index) else {
                return;
            };
            while !s.load(Ordering::Relaxed) {
                if let Ok(info) = device.memory_info() {
                    dp.fetch_max(info.used, Ordering::Relaxed);
                }
                if let Ok(procs) = device.running_compute_processes() {
                    for p in procs.iter().filter(|p| p.pid == pid) {
                        if let nvml_wrapper::enums::device::UsedGpuMemory::Used(bytes) =
                            p.used_gpu_memory
                        {
                            pp.fetch_max(bytes, Ordering::Relaxed);
                        }
                    }
                }
                std::thread::sleep(interval);
            }
        });
        Ok(Self {
            stop,
            process_peak,
            device_peak,
            handle: Some(handle),
        })
    }

    /// Stops sampling; returns (process peak, device peak) in bytes.
    pub fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        (
            self.process_peak.load(Ordering::Relaxed),
            self.device_peak.load(Ordering::Relaxed),
        )
    }
}

/// The memory peaks of a run that has just ended: peak RSS, the NVML sampler's peaks where it
/// ran, and burn's memory-pool peak.
pub(crate) fn memory_peak(
    sampler: Option<Result<NvmlSampler, String>>,
    device: &burn::tensor::Device,
) -> MemoryPeak {
    let rss = peak_rss_bytes();
    // burn's allocator report: peak pages of each pool (CubeCL backends; None on flex)
    let pool_peak = device.memory_pool_report().map(|pools| {
        pools
            .iter()
            .map(|p| p.page_size * p.pages_peak)
            .sum::<u64>()
    });
    let mut peak = match sampler {
        Some(Ok(s)) => {
            let (process, device_used) = s.finish();
            MemoryPeak {
                process_peak_rss_bytes: rss,
                gpu_process_peak_bytes: Some(process),
                gpu_device_peak_bytes: Some(device_used),
                pool_peak_bytes: None,
                measured_as: "GPU: NVML per-process peak, sampled every 100 ms".into(),
            }
        }
        Some(Err(why)) => MemoryPeak {
            process_peak_rss_bytes: rss,
            measured_as: format!("CPU process peak RSS (GPU memory not measured: {why})"),
            ..Default::default()
        },
        None => MemoryPeak {
            process_peak_rss_bytes: rss,
            measured_as: "CPU: peak RSS of the run's process (Linux VmHWM, reset at the start of the run); no GPU".into(),
            ..Default::default()
        },
    };
    peak.pool_peak_bytes = pool_peak;
    peak
}

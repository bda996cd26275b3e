//! Peak memory of a run: process peak RSS on CPU; NVML per-process and device peaks,
//! sampled by a thread, on NVIDIA GPUs.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a run's memory peak was, and how it was measured. A value that was not measured is
/// `None` (shown as "not measured"), never 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryPeak {
    /// Peak resident set size of the process during the run (Linux VmHWM, reset at the
    /// start of each run), bytes.
    pub process_peak_rss_bytes: Option<u64>,
    /// NVML: peak memory used by this process on the GPU (compute and graphics process
    /// lists), bytes; `None` where NVML never listed this process (inside a container the
    /// PIDs NVML reports are the host's).
    pub gpu_process_peak_bytes: Option<u64>,
    /// NVML: peak memory used on the whole GPU, bytes.
    pub gpu_device_peak_bytes: Option<u64>,
    /// NVML: the whole GPU's peak minus its level when the run started, bytes: this run's
    /// share where the process cannot be attributed (and nothing else ran on the card).
    #[serde(default)]
    pub gpu_device_rise_bytes: Option<u64>,
    /// burn's allocator report at the end of the run: the sum over its dynamic pools of each
    /// pool's peak pages (CubeCL backends only; the persistent pool that holds parameters is
    /// not in that report, and the pools' peaks need not coincide), bytes.
    pub pool_peak_bytes: Option<u64>,
    /// burn's allocator (`Device::memory_pool_usage`), read after each backward pass of the
    /// run ([`PoolSampler`]): the high-water mark of the bytes live allocations use, every pool
    /// (parameters, optimiser state, gradients, what activations remain), bytes; a lower bound
    /// of the true peak. CubeCL backends only.
    #[serde(default)]
    pub pool_in_use_peak_bytes: Option<u64>,
    /// The same sampler's high-water mark of the bytes burn had reserved from the driver
    /// (live allocations, padding and pages held for reuse), bytes.
    #[serde(default)]
    pub pool_reserved_peak_bytes: Option<u64>,
    /// The run's device is a GPU card: the headline is GPU memory, never the CPU's RSS.
    #[serde(default)]
    pub on_gpu: bool,
    /// Which of the above is the headline number, in words.
    pub measured_as: String,
}

impl MemoryPeak {
    /// The number reports show. On a GPU: NVML's per-process peak, else the device's rise,
    /// else burn's in-use peak; on a CPU (flex, lavapipe): peak RSS. `None`: not measured.
    pub fn headline_bytes(&self) -> Option<u64> {
        if self.on_gpu {
            self.gpu_process_peak_bytes
                .or(self.gpu_device_rise_bytes)
                .or(self.pool_in_use_peak_bytes)
        } else {
            self.process_peak_rss_bytes
        }
    }

    /// The headline in megabytes for summaries, or "not measured".
    pub fn headline_text(&self) -> String {
        match self.headline_bytes() {
            Some(b) => format!("{:.1} MB", b as f64 / 1e6),
            None => "not measured".into(),
        }
    }
}

/// One entry of NVML's process lists: a PID and the memory NVML attributes to it
/// (`None`: NVML could not say, as under some drivers and MIG).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessMemory {
    pub pid: u32,
    pub used_bytes: Option<u64>,
}

/// This process's GPU memory in one sample of NVML's compute and graphics lists: the largest
/// entry under its PID (a process on both lists is listed twice with the same allocation), or
/// `None` when the PID is not listed or no entry says how much.
pub fn process_memory(pid: u32, listed: &[ProcessMemory]) -> Option<u64> {
    listed
        .iter()
        .filter(|p| p.pid == pid)
        .filter_map(|p| p.used_bytes)
        .max()
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

/// The NVIDIA driver's version through NVML (`NVIDIA 570.86.15`), where there is one.
pub fn nvidia_driver() -> Option<String> {
    let nvml = nvml_wrapper::Nvml::init().ok()?;
    Some(format!("NVIDIA {}", nvml.sys_driver_version().ok()?))
}

/// The part of a loader error worth printing (the library that was missing).
fn short_reason(error: &str) -> String {
    error.rsplit(": ").nth(1).unwrap_or(error).to_string()
}

/// NVML's peaks over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NvmlPeaks {
    /// `None`: this process was never listed.
    pub process: Option<u64>,
    pub device: u64,
    /// The device's used memory when sampling started.
    pub device_at_start: u64,
}

/// Samples NVML at a fixed interval for one GPU until stopped.
pub struct NvmlSampler {
    stop: Arc<AtomicBool>,
    peaks: Arc<Mutex<NvmlPeaks>>,
    handle: Option<JoinHandle<()>>,
}

impl NvmlSampler {
    /// Starts sampling the GPU at `pci_bus_id` (the device the backend opened, found by bus
    /// id because Vulkan, CUDA and NVML may number the cards differently), or returns why it
    /// cannot (no NVML, no such GPU).
    pub fn start(pci_bus_id: &str, interval: Duration) -> Result<Self, String> {
        let nvml = nvml_wrapper::Nvml::init().map_err(|e| format!("NVML not available: {e}"))?;
        let at_start = nvml
            .device_by_pci_bus_id(pci_bus_id)
            .and_then(|d| d.memory_info())
            .map_err(|e| format!("NVML has no GPU at PCI bus id {pci_bus_id}: {e}"))?
            .used;
        let stop = Arc::new(AtomicBool::new(false));
        let peaks = Arc::new(Mutex::new(NvmlPeaks {
            process: None,
            device: at_start,
            device_at_start: at_start,
        }));
        let (s, shared, bus) = (stop.clone(), peaks.clone(), pci_bus_id.to_string());
        let pid = std::process::id();
        let handle = std::thread::spawn(move || {
            let Ok(device) = nvml.device_by_pci_bus_id(bus) else {
                return;
            };
            while !s.load(Ordering::Relaxed) {
                let used = device.memory_info().ok().map(|m| m.used);
                let listed = nvml_processes(&device);
                if let Ok(mut p) = shared.lock() {
                    p.device = p.device.max(used.unwrap_or(0));
                    if let Some(mine) = process_memory(pid, &listed) {
                        p.process = Some(p.process.unwrap_or(0).max(mine));
                    }
                }
                std::thread::sleep(interval);
            }
        });
        Ok(Self {
            stop,
            peaks,
            handle: Some(handle),
        })
    }

    /// Stops sampling; returns the peaks.
    pub fn finish(mut self) -> NvmlPeaks {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peaks.lock().map(|p| *p).unwrap_or_default()
    }
}

/// NVML's energy counter of one GPU card (millijoules since the driver loaded; Volta and
/// later), read around the bench's timed steps.
pub struct EnergyCounter {
    nvml: nvml_wrapper::Nvml,
    pci_bus_id: String,
}

impl EnergyCounter {
    /// The counter of the device's card; `None` on a CPU, without NVML, or where the card has
    /// no counter.
    pub fn open(device: &crate::device::ComputeDevice) -> Option<Self> {
        let pci_bus_id = device.adapter.as_ref()?.pci_bus_id.clone()?;
        let counter = Self { nvml: nvml_wrapper::Nvml::init().ok()?, pci_bus_id };
        counter.millijoules()?;
        Some(counter)
    }

    /// The counter now, millijoules.
    pub fn millijoules(&self) -> Option<u64> {
        self.nvml.device_by_pci_bus_id(self.pci_bus_id.as_str()).ok()?.total_energy_consumption().ok()
    }
}

/// NVML's compute and graphics process lists of one device (Vulkan work is listed as graphics
/// on some drivers).
fn nvml_processes(device: &nvml_wrapper::Device) -> Vec<ProcessMemory> {
    use nvml_wrapper::enums::device::UsedGpuMemory;
    let compute = device.running_compute_processes().unwrap_or_default();
    let graphics = device.running_graphics_processes().unwrap_or_default();
    compute
        .iter()
        .chain(graphics.iter())
        .map(|p| ProcessMemory {
            pid: p.pid,
            used_bytes: match p.used_gpu_memory {
                UsedGpuMemory::Used(bytes) => Some(bytes),
                UsedGpuMemory::Unavailable => None,
            },
        })
        .collect()
}

/// burn's allocator, read by the training loop after each step's backward pass, when the
/// parameters, the optimiser's state and the gradients are all live: the high-water marks of
/// the bytes in use and reserved (`Device::memory_pool_usage`, every pool, the persistent one
/// included). Not a thread: with fusion, each reading drains the queued operations, and a
/// reading in the middle of a step would change what is timed. burn keeps no high-water mark
/// of its own, so a peak of activations inside a step is not seen (the in-use peak is a lower
/// bound); pages go back to the driver only on cleanup, so the reserved peak is not missed.
pub struct PoolSampler {
    peaks: Mutex<PoolPeaks>,
}

/// The high-water marks a [`PoolSampler`] saw, bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolPeaks {
    pub in_use: u64,
    pub reserved: u64,
}

impl PoolPeaks {
    fn take(&mut self, usage: &burn::tensor::MemoryPoolUsage) {
        self.in_use = self.in_use.max(usage.bytes_in_use);
        self.reserved = self.reserved.max(usage.bytes_reserved);
    }
}

impl PoolSampler {
    /// Takes a first reading of `device`'s allocator; `None` on a backend that has none
    /// (flex, the capture device).
    pub fn start(device: &burn::tensor::Device) -> Option<Self> {
        let mut peaks = PoolPeaks::default();
        peaks.take(&device.memory_pool_usage()?);
        Some(Self { peaks: Mutex::new(peaks) })
    }

    /// Reads the allocator now (the training loop calls it after each backward pass).
    pub fn sample(&self, device: &burn::tensor::Device) {
        if let (Some(usage), Ok(mut p)) = (device.memory_pool_usage(), self.peaks.lock()) {
            p.take(&usage);
        }
    }

    /// The high-water marks, after a last reading.
    pub fn finish(self, device: &burn::tensor::Device) -> PoolPeaks {
        self.sample(device);
        self.peaks.into_inner().unwrap_or_default()
    }
}

/// The samplers of one run: NVML where the device is an NVIDIA card, burn's allocator where
/// the backend has one.
pub struct MemorySamplers {
    nvml: Option<Result<NvmlSampler, String>>,
    pub pool: Option<PoolSampler>,
}

/// Starts the memory samplers for a run's device: NVML where it is a GPU card (`None` on a
/// CPU), burn's allocator on every CubeCL backend.
pub(crate) fn start_sampler(device: &crate::device::ComputeDevice, interval: Duration) -> MemorySamplers {
    let nvml = device
        .adapter
        .as_ref()
        .and_then(|a| a.pci_bus_id.as_ref())
        .map(|bus| NvmlSampler::start(bus, interval));
    MemorySamplers { nvml, pool: PoolSampler::start(&device.device) }
}

/// The memory peaks of a run that has just ended: peak RSS, the NVML sampler's peaks where it
/// ran, and burn's allocator (sampled in-use and reserved peaks, the pools' report).
pub(crate) fn memory_peak(samplers: MemorySamplers, device: &burn::tensor::Device) -> MemoryPeak {
    let rss = peak_rss_bytes();
    // burn's allocator report: peak pages of each dynamic pool (CubeCL backends; None on flex)
    let pool_peak = device.memory_pool_report().map(|pools| {
        pools
            .iter()
            .map(|p| p.page_size * p.pages_peak)
            .sum::<u64>()
    });
    let pool = samplers.pool.map(|p| p.finish(device));
    let mut peak = MemoryPeak {
        process_peak_rss_bytes: rss,
        pool_peak_bytes: pool_peak,
        pool_in_use_peak_bytes: pool.map(|p| p.in_use),
        pool_reserved_peak_bytes: pool.map(|p| p.reserved),
        ..Default::default()
    };
    match samplers.nvml {
        Some(Ok(s)) => {
            let nvml = s.finish();
            peak.on_gpu = true;
            peak.gpu_process_peak_bytes = nvml.process;
            peak.gpu_device_peak_bytes = Some(nvml.device);
            peak.gpu_device_rise_bytes = Some(nvml.device.saturating_sub(nvml.device_at_start));
            peak.measured_as = gpu_headline_words(&peak);
        }
        Some(Err(why)) => {
            peak.on_gpu = true;
            peak.measured_as = match pool {
                Some(_) => format!("GPU: burn's allocator, in-use peak over all pools, read after each backward pass (NVML not measured: {why})"),
                None => format!("GPU memory not measured ({why})"),
            };
        }
        None => {
            peak.measured_as = "CPU: peak RSS of the run's process (Linux VmHWM, reset at the start of the run); no GPU".into();
        }
    }
    peak
}

/// Says which NVML number is a GPU run's headline.
fn gpu_headline_words(peak: &MemoryPeak) -> String {
    if peak.gpu_process_peak_bytes.is_some() {
        "GPU: NVML per-process peak (compute and graphics lists), sampled".into()
    } else {
        "GPU: NVML device peak minus its level at the start of the run (this process was not in NVML's process lists, as in a container), sampled".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(entries: &[(u32, Option<u64>)]) -> Vec<ProcessMemory> {
        entries
            .iter()
            .map(|&(pid, used_bytes)| ProcessMemory { pid, used_bytes })
            .collect()
    }

    #[test]
    fn process_memory_is_taken_from_this_pid_only() {
        let l = listed(&[(10, Some(5)), (42, Some(300)), (7, Some(900))]);
        assert_eq!(process_memory(42, &l), Some(300));
    }

    #[test]
    fn a_process_on_both_lists_counts_once() {
        // compute list, then graphics list: one allocation seen twice
        let l = listed(&[(42, Some(300)), (42, Some(300)), (42, Some(120))]);
        assert_eq!(process_memory(42, &l), Some(300));
    }

    #[test]
    fn an_unlisted_pid_or_unavailable_usage_is_not_a_measured_zero() {
        let l = listed(&[(1, Some(5)), (42, None)]);
        assert_eq!(process_memory(42, &l), None);
        assert_eq!(process_memory(43, &l), None);
        assert_eq!(process_memory(42, &[]), None);
    }

    #[test]
    fn a_gpu_run_without_process_attribution_headlines_the_device_rise() {
        let peak = MemoryPeak {
            process_peak_rss_bytes: Some(9_000),
            gpu_device_peak_bytes: Some(5_000),
            gpu_device_rise_bytes: Some(2_000),
            on_gpu: true,
            ..Default::default()
        };
        assert_eq!(peak.headline_bytes(), Some(2_000));
        assert!(gpu_headline_words(&peak).contains("minus its level"));
    }

    #[test]
    fn gpu_memory_not_measured_is_absent_not_zero_and_not_the_cpu_rss() {
        let peak = MemoryPeak {
            process_peak_rss_bytes: Some(9_000),
            on_gpu: true,
            ..Default::default()
        };
        assert_eq!(peak.headline_bytes(), None);
        assert_eq!(peak.headline_text(), "not measured");
        let cpu = MemoryPeak {
            process_peak_rss_bytes: Some(9_000_000),
            ..Default::default()
        };
        assert_eq!(cpu.headline_text(), "9.0 MB");
    }
}

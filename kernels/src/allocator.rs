//! Keeping freed tensor buffers in the process.
//!
//! flex allocates a fresh buffer for every operation's output. glibc hands blocks above
//! 128 KiB (a gate tensor of a quick-profile batch is 1 MiB) straight from `mmap` and gives
//! them back on free, so every operation of every time step page-faults its output in
//! again (and the kernel zeroes it). Measured on a ConvLSTM cell step: 2.5-2.9 ms -> 1.8 ms
//! (kernels/examples/cell_probe.rs). Raising glibc's thresholds keeps the memory for reuse;
//! the peak RSS is unchanged (it is reached either way), only no longer returned early.

/// Makes glibc's malloc serve large blocks from its heap and never trim it. Call at the
/// start of `main`, before threads start. A no-op off glibc (other allocators cache
/// already, or are left alone).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before other threads exist.
    unsafe {
        // 32 MiB is glibc's largest mmap threshold on 64-bit.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

//! Running the tensor work on the compute pool's own threads.
//!
//! flex and these kernels split every large operation over rayon's global pool. Called from
//! a thread outside the pool, each such operation is injected into the pool, wakes a worker
//! and puts the caller to sleep until it is done: two context switches per operation,
//! hundreds of operations per training step. Called from a worker, the same operation
//! pushes its halves on the worker's own queue and runs one of them itself. Measured on a
//! quick-profile ConvLSTM cell step: 1.10 -> 0.93 ms (kernels/examples/cell_probe.rs).

/// Runs `work` on a thread of rayon's global pool and returns its result (a panic in
/// `work` is resumed here).
pub fn run_on_compute_threads<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| work())
}

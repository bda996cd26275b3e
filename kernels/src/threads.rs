//! Running the tensor work on the compute pool's own threads.
//!
//! flex and these kernels split every large operation over rayon's global pool. Called from
//! a thread outside the pool, each such operation is injected into the pool, wakes a worker
//! and puts the caller to sleep until it is done: two context switches per operation,
//! hundreds of operations per training step. Called from a worker, the same operation
//! pushes its halves on the worker's own queue and runs one of them itself. Measured on a
//! quick-profile ConvLSTM cell step: 1.10 -> 0.93 ms (kernels/examples/cell_probe.rs).

use std::sync::atomic::{AtomicBool, Ordering};

/// Runs `work` on a thread of rayon's global pool and returns its result (a panic in
/// `work` is resumed here).
pub fn run_on_compute_threads<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| work())
}

/// Whether [`with_workers_awake`] keeps the pool's other workers polling for work. Switched
/// on by the command-line programs, which run one computation per process; off in library
/// tests, where concurrent tests share the global pool and a worker held by one test's
/// poller would run the other test's work nested under it.
static KEEP_AWAKE: AtomicBool = AtomicBool::new(false);

/// The environment variable that, set to `sleep`, leaves idle workers to sleep as rayon
/// does (for a machine shared with other work); `poll` or unset: they poll.
pub const IDLE_WORKERS_VARIABLE: &str = "VPBENCH_IDLE_WORKERS";

/// Lets [`with_workers_awake`] keep idle workers polling in this process (see there),
/// unless [`IDLE_WORKERS_VARIABLE`] says `sleep`. An unknown value is an error naming the
/// variable.
pub fn allow_workers_awake() -> Result<(), String> {
    match std::env::var(IDLE_WORKERS_VARIABLE).as_deref() {
        Err(_) | Ok("poll") => KEEP_AWAKE.store(true, Ordering::Relaxed),
        Ok("sleep") => KEEP_AWAKE.store(false, Ordering::Relaxed),
        Ok(other) => return Err(format!("{IDLE_WORKERS_VARIABLE}={other}: expected 'poll' or 'sleep'")),
    }
    Ok(())
}

/// What idle workers do during a computation in this process: `poll` or `sleep` (for reports).
pub fn idle_workers_policy() -> &'static str {
    if KEEP_AWAKE.load(Ordering::Relaxed) { "poll" } else { "sleep" }
}

/// Runs `work` while every other worker of the pool polls for work instead of sleeping
/// (where [`allow_workers_awake`] was called; else `work` alone).
///
/// Between two parallel operations a training step runs serial work (autodiff bookkeeping,
/// small element-wise operations) long enough for rayon to put an idle worker to sleep, and
/// waking it costs more than a small operation's half (a futex wake, on a VM an
/// inter-processor interrupt): at the quick profile one worker took 90% of a ConvLSTM step's
/// samples and the other 10% (benchmarks/cpu-profile.md, seventh pass). PyTorch's OpenMP
/// threads spin between parallel regions for the same reason. The pollers take work the
/// moment an operation splits; they do not change which values any operation computes,
/// only which thread computes them. They occupy every core while `work` runs, so call this
/// around a computation that owns the machine (a training run, a benchmark), from outside
/// any parallel operation.
pub fn with_workers_awake<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if !KEEP_AWAKE.load(Ordering::Relaxed) || rayon::current_num_threads() < 2 {
        return work();
    }
    let done = AtomicBool::new(false);
    rayon::scope(|scope| {
        let caller = rayon::current_thread_index();
        // one poller in each worker's own broadcast queue, which no other worker takes from;
        // the caller's copy returns at once (it runs `work`)
        let done = &done;
        scope.spawn_broadcast(move |_, worker| {
            if Some(worker.index()) != caller {
                poll_until(done);
            }
        });
        // set on return and on unwinding alike, so that the scope's wait for the pollers ends
        let _release = Release(done);
        work()
    })
}

/// Runs whatever work the pool has, or spins, until `done`. After a run of empty polls it
/// yields its core to the OS once: where other processes compete for the cores (tests that
/// train in parallel, a shared machine) their threads then get it, as libgomp throttles its
/// spinning when oversubscribed; alone on the machine the call returns at once.
fn poll_until(done: &AtomicBool) {
    const POLLS_BEFORE_YIELDING: u32 = 64;
    let mut empty = 0;
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            empty = 0;
            continue;
        }
        empty += 1;
        if empty % POLLS_BEFORE_YIELDING == 0 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Sets its flag when dropped.
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    // One test only touches the process-wide switch, so no other test of this crate's unit
    // tests shares the pool with live pollers (the others never call with_workers_awake).
    #[test]
    fn pollers_run_parallel_work_and_release_on_return_and_on_panic() {
        KEEP_AWAKE.store(true, Ordering::Relaxed);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        pool.install(|| {
            let sum: u64 = with_workers_awake(|| (0..100_000u64).into_par_iter().map(|x| x * x).sum());
            assert_eq!(sum, (0..100_000u64).map(|x| x * x).sum::<u64>());
            // split operations still share the work out while the pollers run
            let seen = with_workers_awake(|| {
                let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
                for _ in 0..200 {
                    (0..64).into_par_iter().for_each(|_| {
                        seen.lock().unwrap().insert(rayon::current_thread_index());
                        std::thread::sleep(std::time::Duration::from_micros(50));
                    });
                }
                seen.into_inner().unwrap()
            });
            assert_eq!(seen.len(), 2, "work ran on {seen:?}");
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with_workers_awake(|| panic!("inside"))));
            assert!(panicked.is_err(), "the panic comes back, and the pollers stopped (else this hangs)");
            assert_eq!(with_workers_awake(|| 7), 7);
            // nested (a run's evaluation inside a sweep's in-process run): the inner pollers
            // run inside the outer ones and end with the inner work
            assert_eq!(with_workers_awake(|| with_workers_awake(|| (0..1000u32).into_par_iter().sum::<u32>())), 499_500);
        });
    }
}

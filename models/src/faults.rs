//! Deliberate bugs that `cargo xtask ci-regress --inject-fault NAME` switches on, to show
//! that the regression check catches them (`xtask/tests/faults.rs` requires it of each).
//! Fault points are `fail` crate points: inert unless configured, which only ci-regress does.

/// Every fault point: its name and the bug it injects.
pub const FAULTS: &[(&str, &str)] = &[
    ("mk-lstm-swapped-gate", "MK-LSTM's 5x5 branch updates its memory with input and forget gates swapped"),
    ("convlstm-kernel-5", "ConvLSTM's gate convolutions are 5x5 whatever kernel is configured"),
    ("pyramid-dropped-skip", "the mirrored pyramid's way up drops its additive skip connections"),
    ("learning-rate-halved", "training runs at half the profile's learning rate"),
    ("scheduled-sampling-off-by-one", "scheduled sampling applies each step's mask one frame late"),
];

/// Whether fault `name` is switched on.
pub fn is_injected(name: &str) -> bool {
    debug_assert!(FAULTS.iter().any(|(n, _)| *n == name), "unknown fault point {name}");
    fail::eval(name, |_| ()).is_some()
}

/// Switches fault `name` on for the rest of the process.
pub fn inject(name: &str) -> Result<(), String> {
    if !FAULTS.iter().any(|(n, _)| *n == name) {
        let known: Vec<&str> = FAULTS.iter().map(|(n, _)| *n).collect();
        return Err(format!("unknown fault '{name}'; known: {}", known.join(", ")));
    }
    fail::cfg(name, "return")
}

//! Turning a caught panic into the reason a record or an error message gives.

use std::any::Any;

/// The message a panic carried (`panic!` with a literal or a formatted string).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f`, catching a panic without printing it: returns the first panic message seen
/// (a backend's own thread may panic first with the real reason; the caller's panic then
/// only says that the thread died).
pub fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    use std::sync::{Arc, Mutex};
    let messages = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = messages.clone();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut m) = seen.lock() {
            m.push(panic_message(info.payload()));
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    outcome.map_err(|payload| {
        messages
            .lock()
            .ok()
            .and_then(|m| m.first().cloned())
            .unwrap_or_else(|| panic_message(payload.as_ref()))
    })
}

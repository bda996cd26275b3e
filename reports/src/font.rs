//! An embedded font, so figures with text render on machines without fontconfig.

use std::sync::Once;

use plotters::style::{FontStyle, register_font};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers DejaVu Sans as plotters' "sans-serif" (once per process).
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            panic!("embedded DejaVuSans.ttf is not a valid font");
        }
        let _ = register_font("sans-serif", FontStyle::Bold, FONT);
    });
}

//! Renders the paper's tables beside the measured numbers, and its figures.

pub mod comparison;
mod font;
pub mod paper;
pub mod radar;
pub mod table3;

pub use font::register_fonts;

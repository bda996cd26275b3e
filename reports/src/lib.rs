//! Renders the paper's tables beside the measured numbers, and its figures.

pub mod comparison;
pub mod figure;
pub mod frames;
mod font;
pub mod paper;
pub mod radar;
pub mod paper_table;

pub use font::register_fonts;

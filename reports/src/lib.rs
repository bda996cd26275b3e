//! Renders the paper's tables beside the measured numbers, and its figures.

pub mod comparison;
pub mod curves;
pub mod figure;
mod font;
pub mod frames;
pub mod html;
pub mod paper;
pub mod paper_table;
pub mod radar;

pub use font::register_fonts;

//! The four datasets of the MS-LSTM paper: their geometry, loaders for the formats people
//! hold, and a seeded synthetic twin of each (always labelled synthetic).

mod calendar;
mod error;
mod frames;
mod geometry;
pub mod kth;
pub mod moving_mnist;
pub mod preprocessing;
pub mod radar;
mod sequences;
pub mod taxibj;

pub use error::DataError;
pub use geometry::{DatasetKind, Geometry, UnknownDataset};
pub use sequences::{Provenance, Sequences};

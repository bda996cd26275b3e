//! The four datasets of the MS-LSTM paper.

mod geometry;

pub use geometry::{DatasetKind, Geometry, UnknownDataset};

//! The four datasets of the MS-LSTM paper: their geometry, loaders for the formats people
//! hold, and a seeded synthetic twin of each (always labelled synthetic), each behind the
//! [`Dataset`] trait and found by name in the [`registry`].

mod calendar;
mod dataset;
mod error;
mod frames;
mod geometry;
pub mod kth;
pub mod moving_mnist;
pub mod preprocessing;
pub mod radar;
mod rain;
pub mod registry;
mod sequences;
pub mod taxibj;

pub use dataset::{ClipRequest, DataLayout, DataSource, Dataset, TrainTest};
pub use error::DataError;
pub use geometry::Geometry;
pub use rain::ZrRelation;
pub use registry::UnknownDataset;
pub use sequences::{Provenance, Sequences};

//! The video prediction models of the MS-LSTM paper, built with burn.
//!
//! - [`cells`]: recurrent cells (ConvLSTM, MK-LSTM), interchangeable parts.
//! - [`architectures`]: the flat stack and the mirrored pyramid, generic over the cell.
//! - [`recurrent`]: the authors' `embed -> rnn -> fc` wrapper and its time loop.
//! - [`registry`]: builds any model by name from one [`ModelConfig`].
//! - [`weights`], [`golden`]: PyTorch weights by name; checks against the authors' tensors.
//! - [`cost`]: parameters and MACs counted from the executed operations.

pub mod architectures;
pub mod cells;
mod config;
pub mod cost;
pub mod earthformer;
pub mod faults;
mod error;
mod feeding;
pub mod golden;
pub mod layers;
mod loss;
mod model;
pub mod ops;
pub mod recurrent;
pub mod registry;
pub mod simvp;
pub mod weights;

pub use config::ModelConfig;
pub use error::ModelError;
pub use feeding::Feeding;
pub use loss::paper_loss;
pub use model::{Model, ModelOutput, NamedParam, Predictor};

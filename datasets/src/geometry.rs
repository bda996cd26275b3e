//! The shape of a dataset's sequences.

use serde::{Deserialize, Serialize};

/// Shape of one sequence: `in_len + out_len` frames of `channels x height x width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub in_len: usize,
    pub out_len: usize,
}

impl Geometry {
    /// One channel of `side x side` frames, `in_len -> out_len`: every dataset of the paper.
    pub const fn square(side: usize, in_len: usize, out_len: usize) -> Self {
        Self {
            channels: 1,
            height: side,
            width: side,
            in_len,
            out_len,
        }
    }
}

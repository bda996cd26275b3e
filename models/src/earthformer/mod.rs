//! Earthformer (Gao et al., NeurIPS 2022) in the official Moving MNIST configuration
//! (`scripts/cuboid_transformer/moving_mnist/cfg.yaml`): base 64, depth [4, 4], axial cuboid
//! self-attention, per-pixel temporal cross-attention, 4 heads, learned t+hw position
//! embeddings, relative position bias, no global vectors (6,702,109 parameters).
//!
//! Only what that configuration uses is implemented: with axial cuboids as long as their
//! axis, cuboid attention needs no padding, shifting or masking, so each layer is a 1-D
//! attention along one axis.

mod attention;
mod blocks;
mod kwargs;
mod model;

pub use model::{Earthformer, EarthformerConfig};

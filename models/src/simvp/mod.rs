//! SimVP v1 (Gao et al., CVPR 2022; the official `model.py`/`modules.py`): a spatial
//! encoder of ConvSC blocks, an Inception U-Net translator over time-folded channels, and a
//! decoder with transposed convolutions and a skip from the first encoder block. It predicts
//! all future frames in one pass.

mod config;
mod modules;

pub use config::SimVpConfig;
pub use modules::SimVp;

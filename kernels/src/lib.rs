//! Fast CPU convolution for burn's flex backend.
//!
//! burn-flex 0.22 runs a 3x3 "same" convolution at about a quarter of its matrix-product
//! rate: after each tile's product it scatters the result into NCHW with a stride of one
//! image plane per element, and the weight gradient is a convolution whose kernel is the
//! whole image (see benchmarks/cpu-profile.md). Here the same arithmetic is one im2col
//! (contiguous row copies) and one matrix product per image, in both directions, through
//! the `gemm` crate flex already uses; on AVX2 and AVX-512 machines the 3x3 and 5x5 "same"
//! convolutions of the recurrent cells are computed directly instead, without the patch
//! matrix (`direct_conv`, AVX2 + FMA and AVX-512 microkernels). It reaches flex through burn's backend-extension
//! mechanism, with a hand-written backward, and only for the cases it implements (stride 1,
//! dilation 1, one group, symmetric padding, f32); everything else is burn's own conv2d.

pub mod activation;
mod arithmetic;
mod attention;
pub mod allocator;
mod conv;
mod activation_extension;
mod conv_extension;
mod conv_input;
mod cosine_extension;
mod direct_conv;
mod flex;
mod gate_blocks;
mod im2col;
mod lstm_extension;
mod module;
mod resample;
mod resample_extension;
pub mod simd;
mod softmax;
pub mod threads;
mod warp;
mod warp_extension;
mod zeroed;

pub use arithmetic::arithmetic_class;
pub use conv::ConvGeometry;
pub use activation_extension::{sigmoid, tanh};
pub use conv_extension::conv2d_flex;
pub use cosine_extension::normalized_abs_cosine_sum;
pub use flex::runs_on_flex;
pub use lstm_extension::{lstm_increment, lstm_memory, lstm_output};
pub use warp_extension::warp_bilinear;
pub use module::{Conv2d, conv_sum};
pub use resample_extension::{max_pool_2x, upsample_bilinear_2x};
pub use attention::attention;
pub use softmax::softmax_last;

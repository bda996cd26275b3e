//! Tensor operations that burn lacks in the exact form the authors' models use,
//! each implemented once here and tested against hand-computed values.

mod gelu;
mod local_attention;
mod warp;

pub use gelu::gelu;
pub use local_attention::local_attention;
pub use warp::warp;

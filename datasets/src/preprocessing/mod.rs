//! The authors' preprocessing, reproduced exactly: OpenCV's bilinear resize and CPython's
//! shuffle (the order their KTH loader serves clips in).

mod opencv_resize;
mod python_random;

pub use opencv_resize::{resize_linear_f32, resize_linear_u8, resize_linear_u8_channel};
pub use python_random::PythonRandom;

//! What the loaders and generators share: reading a frame, drawing a stroke.

use std::path::Path;

use crate::DataError;
use crate::preprocessing::resize_linear_u8_channel;

/// How the authors' loader reads an image file before resizing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadAs {
    /// `cv2.imread(path)` (three BGR channels) and channel 0 after the resize (their KTH
    /// loader).
    OpenCvColourChannel0,
    /// One greyscale channel.
    Grey,
}

/// An image file as one greyscale `size x size` frame, resized as `cv2.resize` does by default
/// (INTER_LINEAR, bit for bit: [`crate::preprocessing`]); `what` names the frame in errors.
pub fn read_grey_resized(path: &Path, size: usize, what: &str, read_as: ReadAs) -> Result<Vec<u8>, DataError> {
    let image = image::open(path).map_err(|e| DataError::file(path, format!("unreadable {what}: {e}")))?;
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (grey, channels) = match read_as {
        // OpenCV's channel 0 is blue: the third of the decoder's RGB
        ReadAs::OpenCvColourChannel0 => (image.to_rgb8().pixels().map(|p| p[2]).collect::<Vec<u8>>(), 3),
        ReadAs::Grey => (image.to_luma8().into_raw(), 1),
    };
    Ok(resize_linear_u8_channel(&grey, [height, width], [size, size], channels))
}

/// Distance from point `p` to the segment `a`-`b`.
pub fn distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}

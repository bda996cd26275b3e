//! What the loaders and generators share: reading a frame, drawing a stroke.

use std::path::Path;

use crate::DataError;

/// A greyscale image file, resized to `size x size` with bilinear interpolation (OpenCV's
/// default in the authors' loaders); `what` names the frame in errors.
pub fn read_grey_resized(path: &Path, size: usize, what: &str) -> Result<Vec<u8>, DataError> {
    let image =
        image::open(path).map_err(|e| DataError::file(path, format!("unreadable {what}: {e}")))?;
    let resized = image::imageops::resize(
        &image.to_luma8(),
        size as u32,
        size as u32,
        image::imageops::FilterType::Triangle,
    );
    Ok(resized.into_raw())
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

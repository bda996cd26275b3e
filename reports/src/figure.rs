//! What every figure shares: the same drawing to PNG and to SVG.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use vpbench_harness::atomic::write_atomic;

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;

    /// Writes `<stem>.png` and `<stem>.svg` into `dir` (each drawn in memory, then written
    /// atomically); returns their paths.
    fn render(&self, dir: &Path, stem: &str) -> anyhow::Result<Vec<PathBuf>> {
        crate::register_fonts();
        let (width, height) = self.size();
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            self.draw(&root)?;
            root.present()?;
        }
        let mut svg_text = String::new();
        {
            let root = SVGBackend::with_string(&mut svg_text, (width, height)).into_drawing_area();
            self.draw(&root)?;
            root.present()?;
        }
        let image = image::RgbImage::from_raw(width, height, rgb).expect("the buffer is width x height x 3");
        let mut png_bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut png_bytes, image::ImageFormat::Png)?;
        let (png, svg) = (dir.join(format!("{stem}.png")), dir.join(format!("{stem}.svg")));
        write_atomic(&png, png_bytes.get_ref())?;
        write_atomic(&svg, svg_text.as_bytes())?;
        Ok(vec![png, svg])
    }
}

/// A drawing error as an `anyhow` error.
pub(crate) fn draw_error<E: std::error::Error + Send + Sync + 'static>(
    e: DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow::anyhow!("drawing failed: {e}")
}

//! What every figure shares: the same drawing to PNG and to SVG.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;

    /// Writes `<stem>.png` and `<stem>.svg` into `dir`; returns their paths.
    fn render(&self, dir: &Path, stem: &str) -> anyhow::Result<Vec<PathBuf>> {
        crate::register_fonts();
        std::fs::create_dir_all(dir)?;
        let (png, svg) = (
            dir.join(format!("{stem}.png")),
            dir.join(format!("{stem}.svg")),
        );
        {
            let root = BitMapBackend::new(&png, self.size()).into_drawing_area();
            self.draw(&root)?;
            root.present()?;
        }
        {
            let root = SVGBackend::new(&svg, self.size()).into_drawing_area();
            self.draw(&root)?;
            root.present()?;
        }
        Ok(vec![png, svg])
    }
}

/// A drawing error as an `anyhow` error.
pub(crate) fn draw_error<E: std::error::Error + Send + Sync + 'static>(
    e: DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow::anyhow!("drawing failed: {e}")
}

//! Per-frame curves (Fig. 8: SSIM and PSNR by frame on KTH; Fig. 10: CSI and HSS by lead time
//! on the radar data): one panel per quantity, one line per model.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figure::{Figure, draw_error};
use crate::radar::PALETTE;

/// One quantity over frames for several models.
pub struct CurvePanel {
    pub title: String,
    pub x_label: String,
    /// `(model, [(frame, value)])`.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

pub struct CurveFigure {
    pub title: String,
    pub caption: Vec<String>,
    /// Panels laid out in rows of `columns`.
    pub panels: Vec<CurvePanel>,
    pub columns: usize,
}

const PANEL: (u32, u32) = (520, 380);

impl Figure for CurveFigure {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.columns) as u32;
        (
            PANEL.0 * self.columns as u32,
            50 + PANEL.1 * rows + 22 * self.caption.len() as u32 + 10,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(draw_error)?;
        root.draw(&Text::new(
            self.title.clone(),
            (12, 14),
            ("sans-serif", 20).into_font(),
        ))
        .map_err(draw_error)?;
        let rows = self.panels.len().div_ceil(self.columns);
        let (w, h) = self.size();
        let plots = root.margin(46, 22 * self.caption.len() as u32 + 10, 0, 0);
        let _ = (w, h);
        let cells = plots.split_evenly((rows, self.columns));
        for (panel, area) in self.panels.iter().zip(cells) {
            draw_panel(panel, &area)?;
        }
        let small = ("sans-serif", 13).into_font();
        let top = 50 + (PANEL.1 * rows as u32) as i32;
        for (i, line) in self.caption.iter().enumerate() {
            root.draw(&Text::new(
                line.clone(),
                (12, top + 22 * i as i32),
                small.clone(),
            ))
            .map_err(draw_error)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    panel: &CurvePanel,
    area: &DrawingArea<DB, Shift>,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let points = panel.series.iter().flat_map(|(_, s)| s.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points.filter(|(_, y)| y.is_finite()) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.08).max(1e-3);
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title.clone(), ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(48)
        .build_cartesian_2d(x0..x1.max(x0 + 1.0), (y0 - pad)..(y1 + pad))
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc(panel.x_label.clone())
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_error)?;
    for (i, (name, values)) in panel.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let values: Vec<(f64, f64)> = values
            .iter()
            .copied()
            .filter(|(_, y)| y.is_finite())
            .collect();
        chart
            .draw_series(LineSeries::new(values.clone(), color.stroke_width(2)))
            .map_err(draw_error)?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(values.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(draw_error)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(RGBColor(200, 200, 200))
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(draw_error)?;
    Ok(())
}

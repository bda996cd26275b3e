//! Radar (spider) charts with plotters: polar axes drawn by hand.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figure::{Figure, draw_error};

pub struct RadarAxis {
    pub name: String,
}

/// One polygon; values in [0, 1] per axis.
pub struct RadarSeries {
    pub name: String,
    pub values: Vec<f64>,
}

pub struct RadarChart {
    pub title: String,
    pub axes: Vec<RadarAxis>,
    pub series: Vec<RadarSeries>,
    /// Lines under the chart saying how the numbers were measured.
    pub caption: Vec<String>,
}

pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

impl Figure for RadarChart {
    fn size(&self) -> (u32, u32) {
        (900, 860)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(draw_error)?;
        let title = ("sans-serif", 20).into_font();
        root.draw(&Text::new(self.title.clone(), (20, 16), title))
            .map_err(draw_error)?;
        let (cx, cy, radius) = (450.0, 400.0, 280.0);
        let n = self.axes.len();
        let point = |axis: usize, r: f64| {
            let angle =
                -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * axis as f64 / n as f64;
            (
                (cx + radius * r * angle.cos()) as i32,
                (cy + radius * r * angle.sin()) as i32,
            )
        };
        let grey = RGBColor(200, 200, 200);
        for ring in [0.25, 0.5, 0.75, 1.0] {
            let mut pts: Vec<_> = (0..n).map(|a| point(a, ring)).collect();
            pts.push(pts[0]);
            root.draw(&PathElement::new(pts, grey.stroke_width(1)))
                .map_err(draw_error)?;
        }
        let label = ("sans-serif", 18).into_font();
        for (a, axis) in self.axes.iter().enumerate() {
            root.draw(&PathElement::new(
                vec![point(a, 0.0), point(a, 1.0)],
                grey.stroke_width(1),
            ))
            .map_err(draw_error)?;
            let (x, y) = point(a, 1.12);
            root.draw(&Text::new(
                axis.name.clone(),
                (x - 25, y - 8),
                label.clone(),
            ))
            .map_err(draw_error)?;
        }
        for (i, s) in self.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let pts: Vec<_> = s
                .values
                .iter()
                .enumerate()
                .map(|(a, v)| point(a, v.clamp(0.0, 1.0)))
                .collect();
            root.draw(&Polygon::new(pts.clone(), color.mix(0.15).filled()))
                .map_err(draw_error)?;
            let mut outline = pts;
            outline.push(outline[0]);
            root.draw(&PathElement::new(outline, color.stroke_width(3)))
                .map_err(draw_error)?;
            let (lx, ly) = (700, 60 + 26 * i as i32);
            root.draw(&Rectangle::new(
                [(lx, ly), (lx + 18, ly + 14)],
                color.filled(),
            ))
            .map_err(draw_error)?;
            root.draw(&Text::new(s.name.clone(), (lx + 26, ly - 1), label.clone()))
                .map_err(draw_error)?;
        }
        let small = ("sans-serif", 13).into_font();
        for (i, line) in self.caption.iter().enumerate() {
            root.draw(&Text::new(
                line.clone(),
                (20, 740 + 22 * i as i32),
                small.clone(),
            ))
            .map_err(draw_error)?;
        }
        Ok(())
    }
}

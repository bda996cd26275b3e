//! Frame strips (Fig. 6 style): rows of grayscale frames with labels, PNG and SVG.

use plotters::coord::Shift;
use plotters::element::BitMapElement;
use plotters::prelude::*;

use crate::figure::{Figure, draw_error};

/// One labelled row of frames, each `height x width` values in [0, 1].
pub struct FrameRow {
    pub label: String,
    pub frames: Vec<Vec<f32>>,
    /// Column at which the row's frames start (inputs left, predictions right).
    pub first_column: usize,
}

/// How frame values become colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Palette {
    Grey,
    /// Radar pixels as rain rates (DWD Z-R), in the usual rain-rate colour bins.
    Rain,
    /// Black through red and yellow to white (matplotlib's `hot`), for flow maps and errors.
    Heat,
}

/// Upper bounds (mm/h) and colours of the rain bins.
pub const RAIN_BINS: [(f64, RGBColor); 7] = [
    (0.1, RGBColor(240, 240, 240)),
    (0.5, RGBColor(170, 210, 250)),
    (2.0, RGBColor(60, 120, 230)),
    (5.0, RGBColor(40, 170, 60)),
    (10.0, RGBColor(240, 220, 40)),
    (30.0, RGBColor(245, 140, 30)),
    (f64::INFINITY, RGBColor(215, 30, 30)),
];

fn colour(value: f32, palette: Palette) -> [u8; 3] {
    let v = value.clamp(0.0, 1.0);
    match palette {
        Palette::Grey => [(v * 255.0).round() as u8; 3],
        Palette::Heat => {
            let ramp = |from: f32, width: f32| {
                ((v - from) / width * 255.0).clamp(0.0, 255.0).round() as u8
            };
            [ramp(0.0, 0.375), ramp(0.375, 0.375), ramp(0.75, 0.25)]
        }
        Palette::Rain => {
            let rain = if v <= 0.0 {
                0.0
            } else {
                vpbench_harness::skill::ZrRelation::DWD.rain_rate(v as f64)
            };
            let RGBColor(r, g, b) = RAIN_BINS
                .iter()
                .find(|(upper, _)| rain < *upper)
                .map_or(RAIN_BINS[6].1, |b| b.1);
            [r, g, b]
        }
    }
}

pub struct FrameStrip {
    pub palette: Palette,
    pub title: String,
    pub caption: Vec<String>,
    pub height: usize,
    pub width: usize,
    pub columns: usize,
    pub rows: Vec<FrameRow>,
}

const LABEL_WIDTH: i32 = 150;
const GAP: i32 = 4;

impl FrameStrip {
    fn scale(&self) -> u32 {
        (72 / self.height.max(self.width)).max(1) as u32
    }
}

impl Figure for FrameStrip {
    fn size(&self) -> (u32, u32) {
        let s = self.scale() as i32;
        let (fw, fh) = (self.width as i32 * s, self.height as i32 * s);
        let w = LABEL_WIDTH + self.columns as i32 * (fw + GAP) + 20;
        let legend = if self.palette == Palette::Rain { 26 } else { 0 };
        let h =
            50 + self.rows.len() as i32 * (fh + GAP) + 24 * self.caption.len() as i32 + 20 + legend;
        (w.max(1100) as u32, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let err = draw_error::<DB::ErrorType>;
        root.fill(&WHITE).map_err(err)?;
        root.draw(&Text::new(
            self.title.clone(),
            (10, 12),
            ("sans-serif", 18).into_font(),
        ))
        .map_err(err)?;
        let s = self.scale();
        let (fw, fh) = (self.width as u32 * s, self.height as u32 * s);
        let label = ("sans-serif", 15).into_font();
        for (r, row) in self.rows.iter().enumerate() {
            let y = 46 + r as i32 * (fh as i32 + GAP);
            root.draw(&Text::new(
                row.label.clone(),
                (10, y + fh as i32 / 2 - 8),
                label.clone(),
            ))
            .map_err(err)?;
            for (c, frame) in row.frames.iter().enumerate() {
                let x = LABEL_WIDTH + (row.first_column + c) as i32 * (fw as i32 + GAP);
                let mut rgb = Vec::with_capacity((fw * fh * 3) as usize);
                for py in 0..fh as usize {
                    for px in 0..fw as usize {
                        let v = frame[(py / s as usize) * self.width + px / s as usize];
                        rgb.extend(colour(v, self.palette));
                    }
                }
                let element = BitMapElement::with_owned_buffer((x, y), (fw, fh), rgb)
                    .ok_or_else(|| anyhow::anyhow!("frame buffer size mismatch"))?;
                root.draw(&element).map_err(err)?;
            }
        }
        let small = ("sans-serif", 13).into_font();
        let mut top = 50 + self.rows.len() as i32 * (fh as i32 + GAP);
        if self.palette == Palette::Rain {
            let mut lower = 0.0;
            for (i, (upper, color)) in RAIN_BINS.iter().enumerate() {
                let x = 10 + 150 * i as i32;
                root.draw(&Rectangle::new(
                    [(x, top), (x + 18, top + 14)],
                    color.filled(),
                ))
                .map_err(err)?;
                let label = if upper.is_finite() {
                    format!("{lower}-{upper} mm/h")
                } else {
                    format!(">= {lower} mm/h")
                };
                root.draw(&Text::new(label, (x + 24, top), small.clone()))
                    .map_err(err)?;
                lower = *upper;
            }
            top += 26;
        }
        for (i, line) in self.caption.iter().enumerate() {
            root.draw(&Text::new(
                line.clone(),
                (10, top + 22 * i as i32),
                small.clone(),
            ))
            .map_err(err)?;
        }
        Ok(())
    }
}

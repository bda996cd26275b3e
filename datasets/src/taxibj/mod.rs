//! TaxiBJ: crowd flows of Beijing on a 32x32 grid, every 30 minutes.
//!
//! Sources: the four DeepST files `BJ13..BJ16_M32x32_T30_InOut.h5` ([`read_bj_folder`]),
//! OpenSTL's `dataset.npz` ([`read_openstl_npz`]) and a seeded synthetic city
//! ([`synthetic_flows`]). The year files go through the authors' pipeline
//! (`util/load_taxibj.py`, spec section 1.2), implemented in [`build_clips`]:
//! drop incomplete days, clamp negative flows, min-max fitted on the training rows, windows
//! of the `len` half-hour slots before each timestamp (every slot present), windows of all
//! years in file order, the last `test_windows` as test.
//!
//! The authors' windows run backwards in time (newest slot first) and keep only the inflow
//! channel, quantised by `uint8(x * 255)`, which wraps test values above the training maximum;
//! [`TaxiBjLayout::Authors`] reproduces all three. [`TaxiBjLayout::Common`] is the clean
//! variant: both channels, chronological order, rounded and saturated.

mod h5;
mod npz;
mod synthetic;

pub use h5::{BJ_FILES, read_bj_folder, read_bj_year};
pub use npz::read_openstl_npz;
pub use synthetic::synthetic_flows;

use std::collections::HashMap;

use crate::{DataError, Provenance, Sequences};

/// Half-hour slots per day.
pub const SLOTS_PER_DAY: usize = 48;
/// The authors' test set: the last four weeks of windows (48 x 7 x 4).
pub const PAPER_TEST_WINDOWS: usize = 1344;
/// Channels of the raw flow maps: inflow, outflow.
pub const FLOW_CHANNELS: usize = 2;

/// How windows are laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaxiBjLayout {
    /// The authors': inflow only, newest slot first, `uint8(x * 255)` (wrapping).
    #[default]
    Authors,
    /// The common (OpenSTL-like) variant: inflow and outflow, chronological, rounded and saturated.
    Common,
}

impl TaxiBjLayout {
    pub fn channels(self) -> usize {
        match self {
            TaxiBjLayout::Authors => 1,
            TaxiBjLayout::Common => FLOW_CHANNELS,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            TaxiBjLayout::Authors => {
                "authors' layout: inflow channel, newest slot first (time-reversed), uint8(x*255) wrapping"
            }
            TaxiBjLayout::Common => {
                "common layout: inflow and outflow, chronological, rounded to 8 bits"
            }
        }
    }
}

/// One half-hour slot `YYYYMMDDSS` (SS = 01..48).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub date: u64,
    pub slot: u32,
    /// Start of the slot on a continuous clock, in minutes.
    pub minutes: i64,
}

impl Slot {
    /// Parses `YYYYMMDDSS`; `None` if it is not one.
    pub fn parse(stamp: &str) -> Option<Slot> {
        let stamp = stamp.trim_end_matches('\0').trim();
        if stamp.len() != 10 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let date: u64 = stamp[..8].parse().ok()?;
        let slot: u32 = stamp[8..].parse().ok()?;
        if !(1..=SLOTS_PER_DAY as u32).contains(&slot) {
            return None;
        }
        let from_midnight = (slot as i64 - 1) * 30;
        let minutes = crate::calendar::civil_minutes(date, from_midnight / 60, from_midnight % 60)?;
        Some(Slot {
            date,
            slot,
            minutes,
        })
    }

    pub fn stamp(&self) -> String {
        format!("{}{:02}", self.date, self.slot)
    }
}

/// The raw flows of one year file: `rows` maps of `2 x height x width`, and their slots.
#[derive(Clone, Debug)]
pub struct FlowYear {
    /// The file (or generator) the rows came from, for messages.
    pub source: String,
    pub height: usize,
    pub width: usize,
    /// `[row][channel][y][x]`.
    pub flows: Vec<f64>,
    pub slots: Vec<Slot>,
}

impl FlowYear {
    fn map_size(&self) -> usize {
        FLOW_CHANNELS * self.height * self.width
    }

    fn row(&self, i: usize) -> &[f64] {
        let n = self.map_size();
        &self.flows[i * n..(i + 1) * n]
    }
}

/// Train and test windows, and what the pipeline noticed on the way.
pub struct TaxiBjSplit {
    pub train: Sequences,
    pub test: Sequences,
    pub warnings: Vec<String>,
}

/// Settings of the pipeline.
#[derive(Clone, Copy, Debug)]
pub struct TaxiBjOptions {
    pub layout: TaxiBjLayout,
    /// Frames per window (`in_len + out_len`; 8 in the paper).
    pub len: usize,
    /// Windows held out as test, and rows held out of the min-max fit (1,344 in the paper).
    pub test_windows: usize,
}

/// The authors' `remove_incomplete_days`: a day stays if some row with slot 01 is followed,
/// 47 rows later, by a row with slot 48; then every row of a kept day stays.
fn drop_incomplete_days(year: FlowYear) -> (FlowYear, usize) {
    let day = SLOTS_PER_DAY;
    let mut complete = std::collections::HashSet::new();
    let mut i = 0;
    while i < year.slots.len() {
        if year.slots[i].slot != 1 {
            i += 1;
        } else if i + day - 1 < year.slots.len() && year.slots[i + day - 1].slot == day as u32 {
            complete.insert(year.slots[i].date);
            i += day;
        } else {
            i += 1;
        }
    }
    let keep: Vec<usize> = (0..year.slots.len())
        .filter(|&i| complete.contains(&year.slots[i].date))
        .collect();
    let days_before: std::collections::HashSet<u64> = year.slots.iter().map(|s| s.date).collect();
    let dropped_days = days_before.len() - complete.len();
    let flows = keep
        .iter()
        .flat_map(|&i| year.row(i).iter().copied())
        .collect();
    let slots = keep.iter().map(|&i| year.slots[i]).collect();
    (
        FlowYear {
            flows,
            slots,
            ..year
        },
        dropped_days,
    )
}

/// The authors' pipeline over the year files in order (see the module documentation).
pub fn build_clips(
    years: Vec<FlowYear>,
    options: &TaxiBjOptions,
    provenance: Provenance,
) -> Result<TaxiBjSplit, DataError> {
    let TaxiBjOptions {
        layout,
        len,
        test_windows,
    } = *options;
    let Some(first) = years.first() else {
        return Err(DataError::Config("TaxiBJ: no year files given".into()));
    };
    let (height, width) = (first.height, first.width);
    let mut warnings = Vec::new();
    let mut cleaned = Vec::with_capacity(years.len());
    for year in years {
        if (year.height, year.width) != (height, width) {
            return Err(DataError::file(
                &year.source,
                format!(
                    "dataset 'data': expected maps of {height}x{width} like the first file, found {}x{}",
                    year.height, year.width
                ),
            ));
        }
        let (mut year, dropped) = drop_incomplete_days(year);
        if dropped > 0 {
            warnings.push(format!(
                "{}: {dropped} incomplete days dropped (the authors' remove_incomplete_days)",
                year.source
            ));
        }
        year.flows.iter_mut().for_each(|v| *v = v.max(0.0));
        cleaned.push(year);
    }
    let rows: usize = cleaned.iter().map(|y| y.slots.len()).sum();
    if rows <= test_windows {
        return Err(DataError::Config(format!(
            "TaxiBJ: {rows} complete half-hour rows in all, need more than the {test_windows} held out of the min-max fit"
        )));
    }
    // min-max over every row but the last `test_windows` (both channels), as the authors fit it
    let fit_values = cleaned
        .iter()
        .flat_map(|y| y.flows.iter().copied())
        .take((rows - test_windows) * first_map_size(&cleaned));
    let (lo, hi) = fit_values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let range = if hi > lo { hi - lo } else { 1.0 };

    let channels = layout.channels();
    let plane = height * width;
    let mut pixels: Vec<u8> = Vec::new();
    let mut windows = 0usize;
    let mut skipped = 0usize;
    let mut above = 0usize;
    for year in &cleaned {
        let index: HashMap<i64, usize> = year
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.minutes, i))
            .collect();
        for i in len..year.slots.len() {
            let t = year.slots[i].minutes;
            let history: Option<Vec<usize>> = (1..=len as i64)
                .map(|j| index.get(&(t - 30 * j)).copied())
                .collect();
            let Some(mut history) = history else {
                skipped += 1;
                continue;
            };
            if layout == TaxiBjLayout::Common {
                history.reverse();
            }
            for row in history {
                let map = year.row(row);
                for v in &map[..channels * plane] {
                    let x = (v - lo) / range;
                    above += usize::from(x > 1.0);
                    pixels.push(quantise(layout, x));
                }
            }
            windows += 1;
        }
    }
    if skipped > 0 {
        warnings.push(format!(
            "{skipped} timestamps skipped: a slot of the {len} before them is missing (the authors skip them silently)"
        ));
    }
    if windows <= test_windows {
        return Err(DataError::Config(format!(
            "TaxiBJ: {windows} windows of {len} slots, need more than the {test_windows} test windows"
        )));
    }
    let all = Sequences {
        count: windows,
        len,
        channels,
        height,
        width,
        pixels,
        provenance: Provenance {
            synthetic: provenance.synthetic,
            source: format!("{}; {}", provenance.source, layout.describe()),
        },
    };
    let test = all.range(windows - test_windows, windows);
    if above > 0 {
        warnings.push(match layout {
            TaxiBjLayout::Authors => format!(
                "{above} window values exceed the training maximum; uint8(x*255) wraps them modulo 256, as in the authors' code"
            ),
            TaxiBjLayout::Common => format!(
                "{above} window values exceed the training maximum; saturated at 255"
            ),
        });
    }
    Ok(TaxiBjSplit {
        train: all.range(0, windows - test_windows),
        test,
        warnings,
    })
}

fn first_map_size(years: &[FlowYear]) -> usize {
    years.first().map_or(0, FlowYear::map_size)
}

/// One scaled value as a pixel.
fn quantise(layout: TaxiBjLayout, x: f64) -> u8 {
    let v = x * 255.0;
    match layout {
        // numpy's float -> uint8 cast: truncation, then the low 8 bits
        TaxiBjLayout::Authors => (v.trunc() as i64).rem_euclid(256) as u8,
        TaxiBjLayout::Common => v.round().clamp(0.0, 255.0) as u8,
    }
}

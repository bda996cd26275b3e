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

use std::path::Path;

use crate::dataset::{downsample_factor, only_moving_mnist_reads_digits};
use crate::{ClipRequest, DataError, DataLayout, DataSource, Dataset, Geometry, Provenance, Sequences, TrainTest};

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
) -> Result<TrainTest, DataError> {
    let TaxiBjOptions { layout, len, test_windows } = *options;
    let mut warnings = Vec::new();
    let cleaned = clean_years(years, &mut warnings)?;
    let rows: usize = cleaned.iter().map(|y| y.slots.len()).sum();
    if rows <= test_windows {
        return Err(DataError::Config(format!(
            "TaxiBJ: {rows} complete half-hour rows in all, need more than the {test_windows} held out of the min-max fit"
        )));
    }
    let scale = MinMax::fit(&cleaned, rows - test_windows);
    let windows = make_windows(&cleaned, layout, len, scale);
    if windows.skipped > 0 {
        warnings.push(format!(
            "{} timestamps skipped: a slot of the {len} before them is missing (the authors skip them silently)",
            windows.skipped
        ));
    }
    let count = windows.count;
    if count <= test_windows {
        return Err(DataError::Config(format!(
            "TaxiBJ: {count} windows of {len} slots, need more than the {test_windows} test windows"
        )));
    }
    if windows.above > 0 {
        let above = windows.above;
        warnings.push(match layout {
            TaxiBjLayout::Authors => format!(
                "{above} window values exceed the training maximum; uint8(x*255) wraps them modulo 256, as in the authors' code"
            ),
            TaxiBjLayout::Common => format!("{above} window values exceed the training maximum; saturated at 255"),
        });
    }
    let (height, width) = (cleaned[0].height, cleaned[0].width);
    let all = Sequences {
        count,
        len,
        channels: layout.channels(),
        height,
        width,
        pixels: windows.pixels,
        provenance: Provenance {
            synthetic: provenance.synthetic,
            source: format!("{}; {}", provenance.source, layout.describe()),
        },
    };
    Ok(TrainTest {
        train: all.range(0, count - test_windows),
        test: all.range(count - test_windows, count),
        warnings,
    })
}

/// Every year with its incomplete days dropped and negative flows set to 0, all of the first
/// year's map size.
fn clean_years(years: Vec<FlowYear>, warnings: &mut Vec<String>) -> Result<Vec<FlowYear>, DataError> {
    let Some(first) = years.first() else {
        return Err(DataError::Config("TaxiBJ: no year files given".into()));
    };
    let (height, width) = (first.height, first.width);
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
    Ok(cleaned)
}

/// The min-max scaling the authors fit.
#[derive(Clone, Copy)]
struct MinMax {
    lo: f64,
    range: f64,
}

impl MinMax {
    /// Over the first `fit_rows` rows of all years (both channels): every row but the test's.
    fn fit(years: &[FlowYear], fit_rows: usize) -> Self {
        let values = years.iter().flat_map(|y| y.flows.iter().copied()).take(fit_rows * first_map_size(years));
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        Self { lo, range: if hi > lo { hi - lo } else { 1.0 } }
    }
}

/// The windows' pixels, how many there are, how many timestamps lacked a full history, and
/// how many values exceeded the fitted maximum.
struct Windows {
    pixels: Vec<u8>,
    count: usize,
    skipped: usize,
    above: usize,
}

/// A window of the `len` half-hour slots before each timestamp whose history is complete,
/// newest slot first (the authors') or chronological (common), scaled and quantised.
fn make_windows(years: &[FlowYear], layout: TaxiBjLayout, len: usize, scale: MinMax) -> Windows {
    let plane_values = layout.channels() * years.first().map_or(0, |y| y.height * y.width);
    let mut w = Windows { pixels: Vec::new(), count: 0, skipped: 0, above: 0 };
    for year in years {
        let index: HashMap<i64, usize> = year.slots.iter().enumerate().map(|(i, s)| (s.minutes, i)).collect();
        for i in len..year.slots.len() {
            let t = year.slots[i].minutes;
            let history: Option<Vec<usize>> = (1..=len as i64).map(|j| index.get(&(t - 30 * j)).copied()).collect();
            let Some(mut history) = history else {
                w.skipped += 1;
                continue;
            };
            if layout == TaxiBjLayout::Common {
                history.reverse();
            }
            for row in history {
                for v in &year.row(row)[..plane_values] {
                    let x = (v - scale.lo) / scale.range;
                    w.above += usize::from(x > 1.0);
                    w.pixels.push(quantise(layout, x));
                }
            }
            w.count += 1;
        }
    }
    w
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

/// TaxiBJ in the paper: 32x32, 4 -> 4; the authors' layout or the common two-channel one.
pub struct TaxiBj;

impl Dataset for TaxiBj {
    fn name(&self) -> &'static str {
        "taxibj"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["taxi-bj"]
    }

    fn paper_geometry(&self) -> Geometry {
        Geometry::square(32, 4, 4)
    }

    fn load(&self, source: &DataSource, request: &ClipRequest) -> Result<TrainTest, DataError> {
        let split = match source {
            DataSource::Synthetic => synthetic_split(request)?,
            DataSource::Path(p) if p.is_file() => npz_split(p, request)?,
            DataSource::Path(dir)
                if dir.join("dataset.npz").is_file() && !dir.join(BJ_FILES[0]).is_file() =>
            {
                npz_split(&dir.join("dataset.npz"), request)?
            }
            DataSource::Path(dir) => {
                let provenance = Provenance {
                    synthetic: false,
                    source: format!("{} (BJ13-BJ16 year files)", dir.display()),
                };
                let options = pipeline_options(request, PAPER_TEST_WINDOWS);
                build_clips(read_bj_folder(dir)?, &options, provenance)?
            }
            DataSource::MnistDigits(_) => {
                return Err(only_moving_mnist_reads_digits("TaxiBJ", "folder or dataset.npz"));
            }
        };
        if split.train.channels != request.channels {
            return Err(DataError::file(
                &split.train.provenance.source,
                format!(
                    "frames have {} channels, the profile sets channels = {} (TaxiBJ: 1 for the authors' layout, 2 for the common layout)",
                    split.train.channels, request.channels
                ),
            ));
        }
        let factor = downsample_factor(&split.train, request.frame_size, "maps")?;
        Ok(TrainTest {
            train: split.train.downsample(factor),
            test: split.test.downsample(factor),
            warnings: split.warnings,
        })
    }
}

fn layout_of(request: &ClipRequest) -> TaxiBjLayout {
    match request.layout {
        DataLayout::Authors => TaxiBjLayout::Authors,
        DataLayout::Common => TaxiBjLayout::Common,
    }
}

fn pipeline_options(request: &ClipRequest, test_windows: usize) -> TaxiBjOptions {
    TaxiBjOptions {
        layout: layout_of(request),
        len: request.len,
        test_windows,
    }
}

/// A synthetic city of enough days for `generated_clips` windows; the paper's four test weeks
/// when there are enough windows, else 3 in 10.
fn synthetic_split(request: &ClipRequest) -> Result<TrainTest, DataError> {
    let len = request.len;
    let days = (request.generated_clips + len).div_ceil(SLOTS_PER_DAY);
    let year = synthetic_flows(days, request.frame_size, request.seed);
    let windows = days * SLOTS_PER_DAY - len;
    let provenance = Provenance {
        synthetic: true,
        source: year.source.clone(),
    };
    let test = (windows * 3 / 10).min(PAPER_TEST_WINDOWS);
    build_clips(vec![year], &pipeline_options(request, test), provenance)
}

/// OpenSTL's `dataset.npz`, which only the common layout can describe.
fn npz_split(path: &Path, request: &ClipRequest) -> Result<TrainTest, DataError> {
    if layout_of(request) != TaxiBjLayout::Common {
        return Err(DataError::file(
            path,
            "OpenSTL's dataset.npz holds inflow and outflow in chronological order; use a profile with layout = \"common\" and channels = 2 (such as paper-common)",
        ));
    }
    let (train, test) = read_openstl_npz(path)?;
    if train.len != request.len {
        return Err(DataError::file(
            path,
            format!(
                "clips have {} frames (X then Y), the profile needs in_len + out_len = {}",
                train.len, request.len
            ),
        ));
    }
    Ok(TrainTest::new(train, test))
}

//! German radar (DWD): the authors' PNG folders and a synthetic twin of rain fields.
//!
//! On disk (`util/load_hko.py`): `<root>/{train,test}/<timestamp>.png`, 8-bit greyscale,
//! 5-minute frames named by an integer (YYYYMMDDHHMM), sorted by that integer. A sample takes
//! the files `[k L, (k + 1) L)` with `L = 6 (in + out)` and keeps every 6th: frames 30 minutes
//! apart, non-overlapping windows, each resized (bilinear) to the configured size. The
//! authors do not check for gaps; this loader counts them and reports a warning.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::calendar::civil_minutes;
use crate::frames::{ReadAs, read_grey_resized};
use crate::rain::ZrRelation;
use crate::dataset::only_moving_mnist_reads_digits;
use crate::{ClipRequest, DataError, DataSource, Dataset, Geometry, Provenance, Sequences, TrainTest};

/// Raw frames per kept frame (5-minute files, 30-minute steps).
pub const STRIDE: usize = 6;

/// The DWD pixel of a rain rate ([`ZrRelation::DWD`]); 0 for no rain.
pub fn rain_to_pixel(rain_mm_h: f64) -> f64 {
    if rain_mm_h <= 0.0 {
        return 0.0;
    }
    ZrRelation::DWD.pixel(rain_mm_h)
}

/// One split of a radar folder, and what the loader noticed.
pub struct RadarSplit {
    pub clips: Sequences,
    pub warnings: Vec<String>,
}

/// Reads `<root>/<split>/*.png` into clips of `len` frames of `size x size`.
pub fn read_radar_split(
    root: &Path,
    split: &str,
    len: usize,
    size: usize,
) -> Result<RadarSplit, DataError> {
    let dir = root.join(split);
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| DataError::file(&dir, format!("expected a folder of PNG frames: {e}")))?;
    let mut files: Vec<(u64, PathBuf)> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(&dir, e))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("png") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let stamp: u64 = stem.parse().map_err(|_| {
            DataError::file(
                &path,
                format!(
                    "expected a frame named by its timestamp (YYYYMMDDHHMM.png), found '{stem}'"
                ),
            )
        })?;
        files.push((stamp, path));
    }
    files.sort();
    let window = STRIDE * len;
    let count = files.len() / window;
    if count == 0 {
        return Err(DataError::file(
            &dir,
            format!(
                "expected at least {window} PNG frames (one window of {len} frames, every {STRIDE}th), found {}",
                files.len()
            ),
        ));
    }
    let gaps = files
        .windows(2)
        .filter(|w| {
            minutes(w[1].0)
                .zip(minutes(w[0].0))
                .is_none_or(|(b, a)| b - a != 5)
        })
        .count();
    let mut warnings = Vec::new();
    if gaps > 0 {
        warnings.push(format!(
            "{}: {gaps} gaps in the 5-minute sequence; as in the authors' loader, windows are taken by file order, so some span more time",
            dir.display()
        ));
    }
    let mut pixels = Vec::with_capacity(count * len * size * size);
    for k in 0..count {
        for j in 0..len {
            let path = &files[k * window + j * STRIDE].1;
            pixels.extend(read_grey_resized(path, size, "PNG", ReadAs::Grey)?);
        }
    }
    Ok(RadarSplit {
        clips: Sequences {
            count,
            len,
            channels: 1,
            height: size,
            width: size,
            pixels,
            provenance: Provenance {
                synthetic: false,
                source: format!(
                    "{} (every {STRIDE}th 5-minute frame, resized to {size}x{size})",
                    dir.display()
                ),
            },
        },
        warnings,
    })
}

/// Minutes of a YYYYMMDDHHMM stamp on a continuous clock, or `None` if it is not one.
fn minutes(stamp: u64) -> Option<i64> {
    let (date, hhmm) = (stamp / 10_000, stamp % 10_000);
    civil_minutes(date, (hhmm / 100) as i64, (hhmm % 100) as i64)
}

/// Seeded synthetic rain: Gaussian convective cells (peak 2-60 mm/h) that drift with a
/// per-clip wind, grow or decay, and appear over time, converted to DWD pixels.
pub fn synthetic_radar(clips: usize, len: usize, size: usize, seed: u64) -> Sequences {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0da7_a5e7);
    let frame = size * size;
    let mut pixels = vec![0u8; clips * len * frame];
    let s = size as f64;
    for clip in 0..clips {
        let wind = (
            rng.random_range(-0.04..0.04) * s,
            rng.random_range(-0.04..0.04) * s,
        );
        let cells: Vec<[f64; 6]> = (0..rng.random_range(3..9))
            .map(|_| {
                [
                    rng.random_range(0.0..s),                          // x
                    rng.random_range(0.0..s),                          // y
                    rng.random_range(0.04..0.15) * s,                  // radius
                    rng.random_range(2.0..60.0f64).ln(),               // log peak rain rate
                    rng.random_range(-0.35..0.35),                     // growth per frame (log)
                    rng.random_range(-(len as f64)..len as f64 * 0.5), // birth frame
                ]
            })
            .collect();
        for t in 0..len {
            let out = &mut pixels[(clip * len + t) * frame..(clip * len + t + 1) * frame];
            for y in 0..size {
                for x in 0..size {
                    let rain: f64 = cells
                        .iter()
                        .filter(|c| t as f64 >= c[5])
                        .map(|c| {
                            let age = t as f64 - c[5].max(0.0);
                            let (cx, cy) = (c[0] + wind.0 * t as f64, c[1] + wind.1 * t as f64);
                            let d2 = (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2);
                            (c[3] + c[4] * age).exp() * (-d2 / (2.0 * c[2] * c[2])).exp()
                        })
                        .sum();
                    // rates below 0.1 mm/h are dry, as the product's detection limit
                    let r = if rain < 0.1 { 0.0 } else { rain };
                    out[y * size + x] = (rain_to_pixel(r) * 255.0) as u8;
                }
            }
        }
    }
    Sequences {
        count: clips,
        len,
        channels: 1,
        height: size,
        width: size,
        pixels,
        provenance: Provenance {
            synthetic: true,
            source: format!(
                "built-in rain-cell generator (advected, growing and decaying cells, DWD Z-R), seed {seed}"
            ),
        },
    }
}

/// German radar (DWD) in the paper: 180x180, 4 -> 4, with the precipitation skill scores.
pub struct GermanRadar;

impl Dataset for GermanRadar {
    fn name(&self) -> &'static str {
        "radar"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["german-radar", "dwd"]
    }

    fn paper_geometry(&self) -> Geometry {
        Geometry::square(180, 4, 4)
    }

    fn load(&self, source: &DataSource, request: &ClipRequest) -> Result<TrainTest, DataError> {
        let (len, size) = (request.len, request.frame_size);
        match source {
            DataSource::Synthetic => {
                let all = synthetic_radar(request.generated_clips, len, size, request.seed);
                let (train, test) = all.split(7, 10);
                Ok(TrainTest::new(train, test))
            }
            DataSource::Path(root) => {
                let train = read_radar_split(root, "train", len, size)?;
                let test = read_radar_split(root, "test", len, size)?;
                Ok(TrainTest {
                    train: train.clips,
                    test: test.clips,
                    warnings: [train.warnings, test.warnings].concat(),
                })
            }
            DataSource::MnistDigits(_) => Err(only_moving_mnist_reads_digits("radar", "folder")),
        }
    }

    fn rain_relation(&self) -> Option<ZrRelation> {
        Some(ZrRelation::DWD)
    }
}

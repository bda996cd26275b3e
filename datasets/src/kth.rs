//! KTH human actions (running, jogging, walking), as the authors read them
//! (`util/load_kth_only_run.py`): PNG frames `<root>/<action>/personXX_<action>_dY/N.png`
//! (1-based), clip lists `personXX_<action>_dY start end` (1-based, inclusive) in
//! `kth_txt/{train,test}_data_list_trimmed_only_run.txt` beside or inside the root, windows
//! of `len` frames with stride 3 for running and 10 otherwise, frames resized as `cv2.resize`
//! does (bilinear, bit for bit) and served in the order `random.seed(123); random.shuffle`
//! gives (CPython's, exactly: `crate::preprocessing`).
//! The person split (1-16 train, 17-25 test) lives in the lists.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::frames::{ReadAs, distance_to_segment, read_grey_resized};
use crate::preprocessing::PythonRandom;
use crate::dataset::only_moving_mnist_reads_digits;
use crate::{ClipRequest, DataError, DataSource, Dataset, Geometry, Provenance, Sequences, TrainTest};

/// The actions of the authors' "only run" subset, with their window strides.
pub const ACTIONS: [(&str, usize); 3] = [("running", 3), ("jogging", 10), ("walking", 10)];

/// The clip list of a split: `kth_txt/<split>_data_list_trimmed_only_run.txt` inside `root`
/// or beside it (the authors' layout).
pub fn list_file(root: &Path, split: &str) -> Result<PathBuf, DataError> {
    let name = format!("{split}_data_list_trimmed_only_run.txt");
    let candidates = [
        root.join("kth_txt").join(&name),
        root.join("..").join("kth_txt").join(&name),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            DataError::file(
                root,
                format!("expected the clip list kth_txt/{name} inside this folder or beside it"),
            )
        })
}

/// Reads the `split` ("train" or "test") windows of `len` frames at `size x size`.
pub fn read_kth_split(
    root: &Path,
    split: &str,
    len: usize,
    size: usize,
) -> Result<Sequences, DataError> {
    let list = list_file(root, split)?;
    let text = std::fs::read_to_string(&list).map_err(|e| DataError::io(&list, e))?;
    let mut windows: Vec<(PathBuf, usize)> = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = |what: &str| DataError::file(&list, format!("line {}: {what}: '{line}'", n + 1));
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [clip, start, end] = fields[..] else {
            return Err(bad("expected 'personXX_<action>_dY start end'"));
        };
        let (start, end): (usize, usize) = (
            start
                .parse()
                .map_err(|_| bad("start is not a frame number"))?,
            end.parse().map_err(|_| bad("end is not a frame number"))?,
        );
        let action = clip.split('_').nth(1).unwrap_or_default();
        let Some(&(_, stride)) = ACTIONS.iter().find(|(a, _)| *a == action) else {
            return Err(bad("expected an action among running, jogging, walking"));
        };
        let folder = root.join(action).join(clip);
        let mut i = start.max(1);
        while i + len <= end + 1 {
            windows.push((folder.clone(), i));
            i += stride;
        }
    }
    if windows.is_empty() {
        return Err(DataError::file(
            &list,
            format!("no window of {len} frames fits any listed segment"),
        ));
    }
    // the authors' order: `random.seed(123)`, then one `random.shuffle` of the window list
    PythonRandom::seed(123).shuffle(&mut windows);
    let mut pixels = Vec::with_capacity(windows.len() * len * size * size);
    for (folder, first) in &windows {
        for f in *first..*first + len {
            let path = folder.join(format!("{f}.png"));
            pixels.extend(read_grey_resized(&path, size, "frame", ReadAs::OpenCvColourChannel0)?);
        }
    }
    Ok(Sequences {
        count: windows.len(),
        len,
        channels: 1,
        height: size,
        width: size,
        pixels,
        provenance: Provenance {
            synthetic: false,
            source: format!(
                "{} ({} windows from {}, resized to {size}x{size})",
                root.display(),
                windows.len(),
                list.display()
            ),
        },
    })
}

/// Seeded synthetic twin: a silhouette (head, torso, swinging arms and legs) walking,
/// jogging or running across a static textured background, in grey.
pub fn synthetic_kth(clips: usize, len: usize, size: usize, seed: u64) -> Sequences {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x00c7_7a11);
    let frame = size * size;
    let s = size as f64;
    let mut pixels = vec![0u8; clips * len * frame];
    for clip in 0..clips {
        let (speed, cadence) = [(0.012, 0.35), (0.022, 0.55), (0.035, 0.8)][rng.random_range(0..3)];
        let direction = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let height = rng.random_range(0.45..0.7) * s;
        let start = rng.random_range(0.1..0.9) * s;
        let ground = rng.random_range(0.8..0.92) * s;
        let (bg, shade) = (rng.random_range(100.0..170.0), rng.random_range(20.0..60.0));
        let phase0 = rng.random_range(0.0..std::f64::consts::TAU);
        for t in 0..len {
            let x0 = start + direction * speed * s * t as f64;
            let phase = phase0 + cadence * t as f64;
            let hip = (x0, ground - 0.5 * height);
            let neck = (x0, ground - 0.85 * height);
            let limb = |origin: (f64, f64), length: f64, angle: f64| {
                (
                    origin.0 + length * angle.sin(),
                    origin.1 + length * angle.cos(),
                )
            };
            let swing = 0.6 * phase.sin();
            let segments = [
                (hip, neck, 0.06),
                (hip, limb(hip, 0.5 * height, swing), 0.05),
                (hip, limb(hip, 0.5 * height, -swing), 0.05),
                (neck, limb(neck, 0.35 * height, -swing), 0.035),
                (neck, limb(neck, 0.35 * height, swing), 0.035),
            ];
            let head = (x0, ground - 0.95 * height, 0.08 * height);
            let out = &mut pixels[(clip * len + t) * frame..(clip * len + t + 1) * frame];
            for y in 0..size {
                for x in 0..size {
                    let p = (x as f64 + 0.5, y as f64 + 0.5);
                    // background: floor darker than wall, faint texture
                    let wall = if p.1 > ground { bg - shade } else { bg };
                    let texture = 6.0 * ((x / 4 + y / 4) % 2) as f64;
                    let on_body = segments
                        .iter()
                        .any(|&(a, b, w)| distance_to_segment(p, a, b) < w * height)
                        || ((p.0 - head.0).powi(2) + (p.1 - head.1).powi(2)).sqrt() < head.2;
                    out[y * size + x] = if on_body { 30 } else { (wall + texture) as u8 };
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
            source: format!("built-in walking/jogging/running silhouettes, seed {seed}"),
        },
    }
}

/// KTH in the paper: 128x128, 10 -> 10.
pub struct Kth;

impl Dataset for Kth {
    fn name(&self) -> &'static str {
        "kth"
    }

    fn paper_geometry(&self) -> Geometry {
        Geometry::square(128, 10, 10)
    }

    fn load(&self, source: &DataSource, request: &ClipRequest) -> Result<TrainTest, DataError> {
        let (len, size) = (request.len, request.frame_size);
        let (train, test) = match source {
            DataSource::Synthetic => {
                synthetic_kth(request.generated_clips, len, size, request.seed).split(7, 10)
            }
            DataSource::Path(root) => (
                read_kth_split(root, "train", len, size)?,
                read_kth_split(root, "test", len, size)?,
            ),
            DataSource::MnistDigits(_) => return Err(only_moving_mnist_reads_digits("KTH", "folder")),
        };
        Ok(TrainTest::new(train, test))
    }
}

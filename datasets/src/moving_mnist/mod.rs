//! Moving MNIST three ways: the authors' `.npy`, clips generated from real MNIST digits
//! with the authors' algorithm, or clips of built-in digit-like glyphs (synthetic).

mod generator;
mod glyphs;
mod idx;
mod npy;

pub use generator::{MotionOptions, generate};
pub use glyphs::synthetic_digits;
pub use idx::{DigitPool, read_idx_images};
pub use npy::{npy_sequences_bytes, read_npy_sequences};

use std::path::{Path, PathBuf};

use crate::dataset::downsample_factor;
use crate::{ClipRequest, DataError, DataLayout, DataSource, Dataset, Geometry, Sequences, TrainTest};

/// Where Moving MNIST clips come from.
#[derive(Clone, Debug)]
pub enum MovingMnistSource {
    /// A `(S, N, 64, 64)` uint8 `.npy` (`moving-mnist-20.npy`, `mnist_test_seq.npy`).
    Npy(PathBuf),
    /// A folder (or file) with MNIST `train-images-idx3-ubyte[.gz]`: clips are generated.
    MnistDigits(PathBuf),
    /// Built-in glyphs, no download: always labelled synthetic.
    Synthetic,
}

/// How many clips to make when generating, and how.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub clips: usize,
    pub seq_len: usize,
    pub seed: u64,
    pub motion: MotionOptions,
}

/// Loads or generates the clips of `source`.
pub fn load(source: &MovingMnistSource, options: &GenerateOptions) -> Result<Sequences, DataError> {
    match source {
        MovingMnistSource::Npy(path) => read_npy_sequences(path),
        MovingMnistSource::MnistDigits(path) => {
            let file = find_mnist_images(path)?;
            let digits = read_idx_images(&file)?;
            Ok(generate(&digits, options))
        }
        MovingMnistSource::Synthetic => {
            let digits = synthetic_digits(options.seed, 1000);
            Ok(generate(&digits, options))
        }
    }
}

/// `train-images-idx3-ubyte` or its `.gz` inside `path`, or `path` itself if it is a file.
pub fn find_mnist_images(path: &Path) -> Result<PathBuf, DataError> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if !path.is_dir() {
        return Err(DataError::file(path, "MNIST folder not found"));
    }
    [
        "train-images-idx3-ubyte",
        "train-images-idx3-ubyte.gz",
        "train-images.idx3-ubyte",
    ]
    .iter()
    .map(|name| path.join(name))
    .find(|p| p.is_file())
    .ok_or_else(|| {
        DataError::file(
            path,
            "expected train-images-idx3-ubyte or train-images-idx3-ubyte.gz in this folder",
        )
    })
}

/// Moving MNIST in the paper: 64x64, 10 -> 10, split 7:3 by clip index as the authors do.
pub struct MovingMnist;

impl Dataset for MovingMnist {
    fn name(&self) -> &'static str {
        "mmnist"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["moving-mnist", "movingmnist"]
    }

    fn paper_geometry(&self) -> Geometry {
        Geometry::square(64, 10, 10)
    }

    fn load(&self, source: &DataSource, request: &ClipRequest) -> Result<TrainTest, DataError> {
        let source = match source {
            DataSource::Synthetic => MovingMnistSource::Synthetic,
            DataSource::Path(p) if p.is_dir() => MovingMnistSource::MnistDigits(p.clone()),
            DataSource::Path(p) => MovingMnistSource::Npy(p.clone()),
            DataSource::MnistDigits(p) => MovingMnistSource::MnistDigits(p.clone()),
        };
        let options = GenerateOptions {
            clips: request.generated_clips,
            seq_len: request.len,
            seed: request.seed,
            motion: MotionOptions {
                one_pixel_shift: request.layout == DataLayout::Authors,
                ..MotionOptions::default()
            },
        };
        let all = load(&source, &options)?;
        if all.len < request.len {
            return Err(DataError::file(
                &all.provenance.source,
                format!(
                    "clips have {} frames, the profile needs in_len + out_len = {}",
                    all.len, request.len
                ),
            ));
        }
        let factor = downsample_factor(&all, request.frame_size, "frames")?;
        let (train, test) = all.first_frames(request.len).downsample(factor).split(7, 10);
        Ok(TrainTest::new(train, test))
    }
}

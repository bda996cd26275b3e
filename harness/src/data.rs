//! Turns a data source and a profile into train and test clips.

use std::path::PathBuf;

use anyhow::{Context, bail};
use vpbench_datasets::moving_mnist::{self, GenerateOptions, MotionOptions, MovingMnistSource};
use vpbench_datasets::taxibj::{self, TaxiBjLayout, TaxiBjOptions};
use vpbench_datasets::{DatasetKind, Provenance, Sequences, kth, radar};

use crate::experiment::{DataLayout, Profile};
use crate::record::DataInfo;

/// Where the frames of a sweep come from.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The built-in generator of the dataset: no download, labelled synthetic.
    Synthetic,
    /// A dataset file or folder in the dataset's real format.
    Path(PathBuf),
    /// Moving MNIST generated from the MNIST digit files in this folder.
    MnistDigits(PathBuf),
}

/// Train and test clips, ready for batching.
pub struct DataSplit {
    pub train: Sequences,
    pub test: Sequences,
    pub info: DataInfo,
}

impl DataSplit {
    /// The split and its description (provenance taken from the training clips).
    fn new(dataset: DatasetKind, train: Sequences, test: Sequences, warnings: Vec<String>) -> Self {
        let info = DataInfo {
            dataset: dataset.short_name().to_string(),
            synthetic: train.provenance.synthetic,
            label: train.provenance.label(),
            train_clips: train.count,
            test_clips: test.count,
            warnings,
        };
        Self { train, test, info }
    }
}

pub fn prepare(
    dataset: DatasetKind,
    source: &DataSource,
    profile: &Profile,
) -> anyhow::Result<DataSplit> {
    match dataset {
        DatasetKind::MovingMnist => moving_mnist_split(source, profile),
        DatasetKind::GermanRadar => radar_split(source, profile),
        DatasetKind::Kth => kth_split(source, profile),
        DatasetKind::TaxiBj => taxibj_split(source, profile),
    }
}

fn cap(s: Sequences, max: Option<usize>) -> Sequences {
    match max {
        Some(m) if m < s.count => s.range(0, m),
        _ => s,
    }
}

fn kth_split(source: &DataSource, profile: &Profile) -> anyhow::Result<DataSplit> {
    let len = profile.in_len + profile.out_len;
    let size = profile.frame_size;
    let (train, test) = match source {
        DataSource::Synthetic => {
            kth::synthetic_kth(profile.generated_clips, len, size, profile.seed).split(7, 10)
        }
        DataSource::Path(root) => (
            kth::read_kth_split(root, "train", len, size)?,
            kth::read_kth_split(root, "test", len, size)?,
        ),
        DataSource::MnistDigits(_) => {
            bail!("--mnist applies to Moving MNIST only; give the KTH folder with --data")
        }
    };
    let (train, test) = (
        cap(train, profile.max_train_clips),
        cap(test, profile.max_test_clips),
    );
    Ok(DataSplit::new(DatasetKind::Kth, train, test, Vec::new()))
}

fn radar_split(source: &DataSource, profile: &Profile) -> anyhow::Result<DataSplit> {
    let len = profile.in_len + profile.out_len;
    let size = profile.frame_size;
    let (train, test, warnings) = match source {
        DataSource::Synthetic => {
            let all = radar::synthetic_radar(profile.generated_clips, len, size, profile.seed);
            let (train, test) = all.split(7, 10);
            (train, test, Vec::new())
        }
        DataSource::Path(root) => {
            let train = radar::read_radar_split(root, "train", len, size)?;
            let test = radar::read_radar_split(root, "test", len, size)?;
            let warnings = [train.warnings, test.warnings].concat();
            (train.clips, test.clips, warnings)
        }
        DataSource::MnistDigits(_) => {
            bail!("--mnist applies to Moving MNIST only; give the radar folder with --data")
        }
    };
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let (train, test) = (
        cap(train, profile.max_train_clips),
        cap(test, profile.max_test_clips),
    );
    Ok(DataSplit::new(
        DatasetKind::GermanRadar,
        train,
        test,
        warnings,
    ))
}

fn moving_mnist_split(source: &DataSource, profile: &Profile) -> anyhow::Result<DataSplit> {
    let seq_len = profile.in_len + profile.out_len;
    let source = match source {
        DataSource::Synthetic => MovingMnistSource::Synthetic,
        DataSource::Path(p) if p.is_dir() => MovingMnistSource::MnistDigits(p.clone()),
        DataSource::Path(p) => MovingMnistSource::Npy(p.clone()),
        DataSource::MnistDigits(p) => MovingMnistSource::MnistDigits(p.clone()),
    };
    let options = GenerateOptions {
        clips: profile.generated_clips,
        seq_len,
        seed: profile.seed,
        motion: MotionOptions {
            one_pixel_shift: profile.layout == DataLayout::Authors,
            ..MotionOptions::default()
        },
    };
    let all = moving_mnist::load(&source, &options)?;
    if all.len < seq_len {
        bail!(
            "{}: clips have {} frames, profile needs in_len + out_len = {seq_len}",
            all.provenance.source,
            all.len
        );
    }
    if all.height != all.width || all.height % profile.frame_size != 0 {
        bail!(
            "{}: frames are {}x{}, which cannot be reduced to the profile's frame_size {} by an integer factor",
            all.provenance.source,
            all.height,
            all.width,
            profile.frame_size
        );
    }
    let all = all
        .first_frames(seq_len)
        .downsample(all.height / profile.frame_size);
    // The authors split 7:3 by clip index.
    let (train, test) = all.split(7, 10);
    let train = cap(train, profile.max_train_clips);
    let test = cap(test, profile.max_test_clips);
    if train.count == 0 || test.count == 0 {
        bail!(
            "{}: too few clips for a 7:3 split ({} in all)",
            all.provenance.source,
            all.count
        );
    }
    Ok(DataSplit::new(
        DatasetKind::MovingMnist,
        train,
        test,
        Vec::new(),
    ))
}

fn taxibj_split(source: &DataSource, profile: &Profile) -> anyhow::Result<DataSplit> {
    let len = profile.in_len + profile.out_len;
    let layout = match profile.layout {
        DataLayout::Authors => TaxiBjLayout::Authors,
        DataLayout::Common => TaxiBjLayout::Common,
    };
    let npz = |p: &PathBuf| -> anyhow::Result<(Sequences, Sequences, Vec<String>)> {
        if layout != TaxiBjLayout::Common {
            bail!(
                "{}: OpenSTL's dataset.npz holds inflow and outflow in chronological order; use a profile with layout = \"common\" and channels = 2 (such as paper-common)",
                p.display()
            );
        }
        let (train, test) = taxibj::read_openstl_npz(p)?;
        if train.len != len {
            bail!(
                "{}: clips have {} frames (X then Y), the profile needs in_len + out_len = {len}",
                p.display(),
                train.len
            );
        }
        Ok((train, test, Vec::new()))
    };
    let options = |test_windows| TaxiBjOptions {
        layout,
        len,
        test_windows,
    };
    let (train, test, warnings) = match source {
        DataSource::Synthetic => {
            let days = (profile.generated_clips + len).div_ceil(taxibj::SLOTS_PER_DAY);
            let year = taxibj::synthetic_flows(days, profile.frame_size, profile.seed);
            let windows = days * taxibj::SLOTS_PER_DAY - len;
            let provenance = Provenance {
                synthetic: true,
                source: year.source.clone(),
            };
            // the paper's four test weeks when there are enough windows, else 3 in 10
            let test = (windows * 3 / 10).min(taxibj::PAPER_TEST_WINDOWS);
            let split = taxibj::build_clips(vec![year], &options(test), provenance)?;
            (split.train, split.test, split.warnings)
        }
        DataSource::Path(p) if p.is_file() => npz(p)?,
        DataSource::Path(dir)
            if dir.join("dataset.npz").is_file() && !dir.join(taxibj::BJ_FILES[0]).is_file() =>
        {
            npz(&dir.join("dataset.npz"))?
        }
        DataSource::Path(dir) => {
            let years = taxibj::read_bj_folder(dir)?;
            let provenance = Provenance {
                synthetic: false,
                source: format!("{} (BJ13-BJ16 year files)", dir.display()),
            };
            let split =
                taxibj::build_clips(years, &options(taxibj::PAPER_TEST_WINDOWS), provenance)?;
            (split.train, split.test, split.warnings)
        }
        DataSource::MnistDigits(_) => {
            bail!(
                "--mnist applies to Moving MNIST only; give the TaxiBJ folder or dataset.npz with --data"
            )
        }
    };
    if train.channels != profile.channels {
        bail!(
            "{}: frames have {} channels, the profile sets channels = {} (TaxiBJ: 1 for the authors' layout, 2 for the common layout)",
            train.provenance.source,
            train.channels,
            profile.channels
        );
    }
    if train.height != train.width || train.height % profile.frame_size != 0 {
        bail!(
            "{}: maps are {}x{}, which cannot be reduced to the profile's frame_size {} by an integer factor",
            train.provenance.source,
            train.height,
            train.width,
            profile.frame_size
        );
    }
    let factor = train.height / profile.frame_size;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let (train, test) = (
        cap(train.downsample(factor), profile.max_train_clips),
        cap(test.downsample(factor), profile.max_test_clips),
    );
    Ok(DataSplit::new(DatasetKind::TaxiBj, train, test, warnings))
}

impl DataSource {
    /// `--data`/`--mnist` as given on the command line.
    pub fn from_args(data: Option<PathBuf>, mnist: Option<PathBuf>) -> anyhow::Result<Self> {
        match (data, mnist) {
            (Some(_), Some(_)) => bail!("give either --data or --mnist, not both"),
            (Some(p), None) => {
                if !p.exists() {
                    bail!("--data {}: no such file or folder", p.display());
                }
                Ok(DataSource::Path(p))
            }
            (None, Some(p)) => {
                moving_mnist::find_mnist_images(&p).context("--mnist")?;
                Ok(DataSource::MnistDigits(p))
            }
            (None, None) => Ok(DataSource::Synthetic),
        }
    }
}

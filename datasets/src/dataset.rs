//! What every dataset provides: its geometry in the paper, its clips (from real files or its
//! synthetic twin) and the metrics that apply to it. One implementation per dataset, listed
//! in [`crate::registry`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::rain::ZrRelation;
use crate::{DataError, Geometry, Sequences};

/// Where the frames of a run come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The built-in generator of the dataset: no download, labelled synthetic.
    Synthetic,
    /// A dataset file or folder in the dataset's real format.
    Path(PathBuf),
    /// Moving MNIST generated from the MNIST digit files in this folder.
    MnistDigits(PathBuf),
}

/// Which version of a dataset's frames a run trains on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataLayout {
    /// As the authors' code makes them: Moving MNIST shifted right by one pixel; TaxiBJ
    /// inflow only, newest slot first, `uint8(x * 255)`.
    #[default]
    Authors,
    /// The clean variant: Moving MNIST unshifted; TaxiBJ inflow and outflow in
    /// chronological order (`channels = 2`).
    Common,
}

/// The clips a run asks for: their length and frame size, and how to generate them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClipRequest {
    /// Frames per clip (`in_len + out_len`).
    pub len: usize,
    /// Frame side in pixels: frames are resized or box-downsampled to it.
    pub frame_size: usize,
    pub channels: usize,
    pub layout: DataLayout,
    /// Clips made when the data is generated (synthetic, or Moving MNIST from digits).
    pub generated_clips: usize,
    pub seed: u64,
}

/// A dataset's train and test clips, and what its loader noticed on the way.
pub struct TrainTest {
    pub train: Sequences,
    pub test: Sequences,
    pub warnings: Vec<String>,
}

impl TrainTest {
    pub fn new(train: Sequences, test: Sequences) -> Self {
        Self {
            train,
            test,
            warnings: Vec::new(),
        }
    }
}

/// One dataset of the benchmark.
pub trait Dataset: Send + Sync {
    /// The name on the command line, in experiment files and in records (`mmnist`).
    fn name(&self) -> &'static str;

    /// Other spellings accepted on the command line (lower case, `-` for `_` and spaces).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// Frame size and sequence split as the paper trains on it (its section 4).
    fn paper_geometry(&self) -> Geometry;

    /// Train and test clips from `source`, at the size and length `request` asks for.
    fn load(&self, source: &DataSource, request: &ClipRequest) -> Result<TrainTest, DataError>;

    /// How pixels convert to rain rates, where they do: the precipitation skill scores (POD,
    /// FAR, CSI, HSS, B-MSE, B-MAE) are computed only for such datasets.
    fn rain_relation(&self) -> Option<ZrRelation> {
        None
    }
}

impl std::fmt::Debug for dyn Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for dyn Dataset {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

/// The error of a source that only another dataset reads.
pub(crate) fn only_moving_mnist_reads_digits(dataset: &str, what: &str) -> DataError {
    DataError::Config(format!(
        "--mnist applies to Moving MNIST only; give the {dataset} {what} with --data"
    ))
}

/// The box-downsampling factor from `clips`' frames to `frame_size`, or an error naming the
/// source when there is no integer factor.
pub(crate) fn downsample_factor(clips: &Sequences, frame_size: usize, what: &str) -> Result<usize, DataError> {
    if clips.height != clips.width || clips.height % frame_size != 0 {
        return Err(DataError::file(
            &clips.provenance.source,
            format!(
                "{what} are {}x{}, which cannot be reduced to the profile's frame_size {frame_size} by an integer factor",
                clips.height, clips.width
            ),
        ));
    }
    Ok(clips.height / frame_size)
}

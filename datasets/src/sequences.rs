//! A set of equally long uint8 clips, and where it came from.

use serde::{Deserialize, Serialize};

/// Where a dataset's frames came from; every record, table and figure carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// `true` for data made by a built-in generator with no real-world source.
    pub synthetic: bool,
    /// What exactly: the file read, or the generator and its seed.
    pub source: String,
}

impl Provenance {
    /// `real: <source>` or `synthetic: <source>`.
    pub fn label(&self) -> String {
        let kind = if self.synthetic { "synthetic" } else { "real" };
        format!("{kind}: {}", self.source)
    }
}

/// `count` clips of `len` frames of `channels x height x width` uint8 pixels, clip-major
/// (`[clip][frame][channel][row][col]`). Every dataset of the paper has one channel; the
/// common TaxiBJ variant has two (inflow, outflow).
#[derive(Clone, Debug)]
pub struct Sequences {
    pub count: usize,
    pub len: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub pixels: Vec<u8>,
    pub provenance: Provenance,
}

impl Sequences {
    /// Pixels of one channel of one frame.
    pub fn plane_size(&self) -> usize {
        self.height * self.width
    }

    /// Pixels of one frame, all channels.
    pub fn frame_size(&self) -> usize {
        self.channels * self.plane_size()
    }

    pub fn clip_size(&self) -> usize {
        self.len * self.frame_size()
    }

    /// Pixels of one clip, `[frame][row][col]`.
    pub fn clip(&self, index: usize) -> &[u8] {
        let n = self.clip_size();
        &self.pixels[index * n..(index + 1) * n]
    }

    /// The clips at `indices` as `[B, S, C, H, W]` floats in [0, 1] (pixel / 255).
    pub fn batch(&self, indices: &[usize]) -> (Vec<f32>, [usize; 5]) {
        let mut out = Vec::with_capacity(indices.len() * self.clip_size());
        for &i in indices {
            out.extend(self.clip(i).iter().map(|&p| p as f32 / 255.0));
        }
        (
            out,
            [
                indices.len(),
                self.len,
                self.channels,
                self.height,
                self.width,
            ],
        )
    }

    /// Clips `[start, end)` as a new set with the same provenance.
    pub fn range(&self, start: usize, end: usize) -> Sequences {
        let n = self.clip_size();
        Sequences {
            count: end - start,
            pixels: self.pixels[start * n..end * n].to_vec(),
            provenance: self.provenance.clone(),
            ..*self
        }
    }

    /// Every clip cut to its first `len` frames.
    pub fn first_frames(&self, len: usize) -> Sequences {
        let (old, frame) = (self.clip_size(), self.frame_size());
        let mut pixels = Vec::with_capacity(self.count * len * frame);
        for clip in self.pixels.chunks_exact(old) {
            pixels.extend_from_slice(&clip[..len * frame]);
        }
        Sequences {
            len,
            pixels,
            provenance: self.provenance.clone(),
            ..*self
        }
    }

    /// The authors' split by clip index: the first `train_fraction` train, the rest test.
    pub fn split(&self, train_numerator: usize, denominator: usize) -> (Sequences, Sequences) {
        let cut = self.count * train_numerator / denominator;
        (self.range(0, cut), self.range(cut, self.count))
    }

    /// Downsamples every frame by an integer factor (box average), for small profiles.
    pub fn downsample(&self, factor: usize) -> Sequences {
        if factor == 1 {
            return self.clone();
        }
        let (h, w) = (self.height / factor, self.width / factor);
        let mut pixels = Vec::with_capacity(self.count * self.len * h * w);
        let area = (factor * factor) as u32;
        for frame in self.pixels.chunks_exact(self.plane_size()) {
            for y in 0..h {
                for x in 0..w {
                    let mut sum = 0u32;
                    for dy in 0..factor {
                        let row = (y * factor + dy) * self.width;
                        for dx in 0..factor {
                            sum += frame[row + x * factor + dx] as u32;
                        }
                    }
                    pixels.push(((sum + area / 2) / area) as u8);
                }
            }
        }
        Sequences {
            height: h,
            width: w,
            pixels,
            provenance: Provenance {
                synthetic: self.provenance.synthetic,
                source: format!("{}, downsampled x{factor}", self.provenance.source),
            },
            ..*self
        }
    }
}

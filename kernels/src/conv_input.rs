//! A convolution's input as one or more NCHW tensors joined along channels, read in place.
//!
//! A recurrent cell convolves `cat([x, h], 1)` (or sums two convolutions, the same thing
//! with the weights joined). Joining costs a copy of every input forward and, backward, a
//! copy of the gradient per part; reading each patch row from the part that holds its
//! channel costs nothing. A part that is all zeros (every state at t = 0) adds exact zeros
//! to every product, so its rows are left out of the products: the values are unchanged.

use std::ops::Range;

/// One tensor of the join: `[batch, channels, h, w]` values.
#[derive(Clone, Copy, Debug)]
pub struct Part<'a> {
    pub values: &'a [f32],
    pub channels: usize,
}

impl Part<'_> {
    /// Whether every value is zero (`-0.0` included): it then contributes nothing.
    fn is_zero(&self) -> bool {
        self.values.iter().all(|&v| v == 0.0)
    }
}

/// The joined input of a convolution over `batch` images of `plane = h * w` pixels.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    parts: Vec<Part<'a>>,
    plane: usize,
    /// The channels the products read: from the first part holding a non-zero value to the
    /// end of the last such part (empty when every part is zero).
    live: Range<usize>,
}

impl<'a> Input<'a> {
    /// Panics when a part's length is not `batch * channels * plane`.
    pub fn new(parts: Vec<Part<'a>>, batch: usize, plane: usize) -> Self {
        for (n, part) in parts.iter().enumerate() {
            assert_eq!(part.values.len(), batch * part.channels * plane, "conv input part {n}: length does not match its shape");
        }
        let starts = channel_starts(&parts);
        let nonzero: Vec<usize> = (0..parts.len()).filter(|&p| !parts[p].is_zero()).collect();
        let live = match (nonzero.first(), nonzero.last()) {
            (Some(&first), Some(&last)) => starts[first]..starts[last] + parts[last].channels,
            _ => 0..0,
        };
        Self { parts, plane, live }
    }

    pub fn channels(&self) -> usize {
        self.parts.iter().map(|p| p.channels).sum()
    }

    pub fn parts(&self) -> &[Part<'a>] {
        &self.parts
    }

    /// See the field.
    pub fn live_channels(&self) -> Range<usize> {
        self.live.clone()
    }

    /// The first joined channel of each part.
    pub fn starts(&self) -> Vec<usize> {
        channel_starts(&self.parts)
    }

    /// `(part, channel within it)` of joined channel `c`.
    pub fn locate(&self, mut c: usize) -> (usize, usize) {
        for (p, part) in self.parts.iter().enumerate() {
            if c < part.channels {
                return (p, c);
            }
            c -= part.channels;
        }
        panic!("channel beyond the input's {}", self.channels())
    }

    /// Joined channel `c` of image `b`: `plane` values.
    pub fn plane(&self, b: usize, c: usize) -> &'a [f32] {
        let (p, local) = self.locate(c);
        let part = self.parts[p];
        &part.values[(b * part.channels + local) * self.plane..][..self.plane]
    }

    /// Channels `channels` of image `b` as one contiguous run, when they lie in one part.
    pub fn contiguous(&self, b: usize, channels: Range<usize>) -> Option<&'a [f32]> {
        if channels.is_empty() {
            return None;
        }
        let (p, local) = self.locate(channels.start);
        let part = self.parts[p];
        (local + channels.len() <= part.channels)
            .then(|| &part.values[(b * part.channels + local) * self.plane..][..channels.len() * self.plane])
    }
}

fn channel_starts(parts: &[Part]) -> Vec<usize> {
    parts
        .iter()
        .scan(0, |next, part| {
            let start = *next;
            *next += part.channels;
            Some(start)
        })
        .collect()
}

/// The span of joined channels covered by the parts `wanted` marks (empty when none).
pub fn span_of(starts: &[usize], parts: &[Part], wanted: &[bool]) -> Range<usize> {
    let picked: Vec<usize> = (0..parts.len()).filter(|&p| wanted[p]).collect();
    match (picked.first(), picked.last()) {
        (Some(&first), Some(&last)) => starts[first]..starts[last] + parts[last].channels,
        _ => 0..0,
    }
}

//! Gate tensors read in place: a cell's gate convolution writes `[B, N*C, H, W]`, whose
//! channel block `k` of item `b` is one contiguous run of `C*H*W` values. The fused LSTM
//! operations read their gates straight from those runs and write the gate gradient as one
//! tensor of the same shape, so no `chunk` view is gathered forward and no chunk's gradient
//! is scattered into a zeroed full-size tensor backward (see benchmarks/cpu-profile.md).

use rayon::prelude::*;

use crate::activation::PARALLEL_CHUNK;

/// The layout of a batch of gate tensors: `batch` items of `blocks` channel blocks, each
/// block `plane` values (`C*H*W`) long.
#[derive(Clone, Copy, Debug)]
pub struct GateLayout {
    pub batch: usize,
    pub blocks: usize,
    pub plane: usize,
}

impl GateLayout {
    /// Offset of item `item`'s block `block` in the gate values.
    pub fn block_start(&self, item: usize, block: usize) -> usize {
        (item * self.blocks + block) * self.plane
    }

    /// Length of the gate values.
    pub fn gates_len(&self) -> usize {
        self.batch * self.blocks * self.plane
    }

    /// Length of one per-gate tensor (a memory, an output): `batch * plane`.
    pub fn state_len(&self) -> usize {
        self.batch * self.plane
    }

    /// Runs `f(item, start, len)` over pieces of every item's plane (`start..start + len`
    /// within the plane), on rayon's threads when the batch is large enough to split.
    pub fn for_each_piece(&self, f: impl Fn(usize, usize, usize) + Sync) {
        let piece = self.plane.min(PARALLEL_CHUNK).max(1);
        let per_item = self.plane.div_ceil(piece);
        let run = |index: usize| {
            let (item, start) = (index / per_item, (index % per_item) * piece);
            f(item, start, piece.min(self.plane - start));
        };
        if self.state_len() <= PARALLEL_CHUNK {
            (0..self.batch * per_item).for_each(run);
        } else {
            (0..self.batch * per_item).into_par_iter().for_each(run);
        }
    }
}

/// A buffer that pieces of parallel work write disjoint ranges of.
#[derive(Clone, Copy)]
pub struct DisjointOut(*mut f32, usize);
// SAFETY: used only to hand out disjoint sub-slices (see `range`).
unsafe impl Send for DisjointOut {}
unsafe impl Sync for DisjointOut {}

impl DisjointOut {
    pub fn new(buffer: &mut [f32]) -> Self {
        Self(buffer.as_mut_ptr(), buffer.len())
    }

    /// `buffer[start..start + len]`.
    ///
    /// # Safety
    /// No two live slices from one `DisjointOut` may overlap, and the buffer must outlive them.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn range(&self, start: usize, len: usize) -> &mut [f32] {
        assert!(start + len <= self.1, "range {start}..{} outside a buffer of {}", start + len, self.1);
        // SAFETY: in bounds (checked); disjointness is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

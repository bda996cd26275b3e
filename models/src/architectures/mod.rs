//! Architectures: how the cells of a model are wired, generic over the cell.
//!
//! The flat stack and the mirrored pyramid differ only in what happens between layers
//! (a [`Transition`]); the zig-zag memory, the look-back inputs and PredRNN-V2's
//! decoupling term are handled here once for both.

mod pyramid;
mod stack;

pub use pyramid::Pyramid;
pub use stack::Stack;

use burn::module::{Module, ModuleDisplay};
use crate::layers::Conv2d;
use burn::tensor::{Device, Tensor};

use crate::cells::{Cell, CellInput, Previous};
use crate::layers::{max_pool_2x, same_conv, upsample_2x};
use crate::{ModelConfig, ModelError};

/// Options of a recurrent core beyond the model configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreOptions {
    /// PredRNN-V2: a shared 1x1 `adapter` and the decoupling loss on (delta c, delta m).
    pub decoupling: bool,
}

/// One step of the core.
pub struct CoreOutput<S> {
    /// The top layer's output, at full resolution.
    pub top: Tensor<4>,
    pub state: S,
    /// PredRNN-V2: `sum over layers and channels of |cos(adapter(dc), adapter(dm))|`, `[B]`.
    pub decoupling: Option<Tensor<1>>,
}

/// The recurrent core between the embedding and the output head (`rnns` in the authors' code).
pub trait Architecture: Module + ModuleDisplay + 'static {
    type State: Clone + Send;

    /// Builds the core for `config`, or says why the configuration does not fit it.
    fn new(
        model: &str,
        config: &ModelConfig,
        options: CoreOptions,
        device: &Device,
    ) -> Result<Self, ModelError>
    where
        Self: Sized;

    /// One time step on embedded input `x` (`[B, C, H, W]`).
    fn step(&self, x: Tensor<4>, state: Option<Self::State>) -> CoreOutput<Self::State>;
}

/// What happens to a layer's output (and the zig-zag memory) before the next layer sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Transition {
    Same,
    /// 2x2 max-pooling.
    Down,
    /// Bilinear x2; the layer input also gets the output of the given earlier layer added.
    UpWithSkipFrom(usize),
}

impl Transition {
    /// Resizes without the skip (memory, look-back inputs).
    fn resize(self, t: Tensor<4>) -> Tensor<4> {
        match self {
            Transition::Same => t,
            Transition::Down => max_pool_2x(t),
            Transition::UpWithSkipFrom(_) => upsample_2x(t),
        }
    }
}

/// The states of all layers, plus what the next step needs from this one.
#[derive(Clone, Debug)]
pub struct LayersState<S> {
    cells: Vec<S>,
    /// The top layer's zig-zag memory, for layer 0 at the next step.
    memory: Option<Tensor<4>>,
    /// Each layer's output and input at this step, for cells that look back.
    outputs: Vec<Tensor<4>>,
    inputs: Vec<Tensor<4>>,
}

/// The shared 1x1 adapter of PredRNN-V2, if the core has one.
pub(crate) fn adapter(
    config: &ModelConfig,
    options: CoreOptions,
    device: &Device,
) -> Option<Conv2d> {
    options
        .decoupling
        .then(|| same_conv(config.hidden, config.hidden, 1, device))
}

/// Runs every layer once; `wiring[l]` connects layer `l` to layer `l + 1`.
pub(crate) fn step_layers<C: Cell>(
    cells: &[C],
    wiring: &[Transition],
    adapter: Option<&Conv2d>,
    mut x: Tensor<4>,
    state: Option<LayersState<C::State>>,
) -> CoreOutput<LayersState<C::State>> {
    let n = cells.len();
    let (mut states, mut memory, previous_outputs, previous_inputs) = match state {
        Some(s) => (
            s.cells.into_iter().map(Some).collect::<Vec<_>>(),
            s.memory,
            Some(s.outputs),
            Some(s.inputs),
        ),
        None => ((0..n).map(|_| None).collect(), None, None, None),
    };
    let mut next = LayersState {
        cells: Vec::with_capacity(n),
        memory: None,
        outputs: Vec::with_capacity(n),
        inputs: Vec::with_capacity(n),
    };
    let mut decoupling: Option<Tensor<1>> = None;
    for (l, cell) in cells.iter().enumerate() {
        let previous = match C::PREVIOUS {
            Previous::Nothing => None,
            Previous::LowerOutput if l == 0 => None,
            Previous::LowerOutput => previous_outputs
                .as_ref()
                .map(|o| wiring[l - 1].resize(o[l - 1].clone())),
            Previous::OwnInput => previous_inputs.as_ref().map(|i| i[l].clone()),
        };
        if C::PREVIOUS == Previous::OwnInput {
            next.inputs.push(x.clone());
        }
        let input = CellInput {
            x,
            memory: memory.take(),
            previous,
            layer: l,
            layers: n,
        };
        let out = cell.step(input, states[l].take());
        if let (Some(adapter), Some(increments)) = (adapter, out.increments) {
            let (dc, dm) = increments.tensors();
            let d = decoupling_term(adapter, dc, dm);
            decoupling = Some(match decoupling {
                Some(acc) => acc + d,
                None => d,
            });
        }
        let last = l + 1 == n;
        memory = out
            .memory
            .map(|m| if last { m } else { wiring[l].resize(m) });
        x = match wiring.get(l) {
            _ if last => out.h.clone(),
            Some(Transition::UpWithSkipFrom(_)) if crate::faults::is_injected("pyramid-dropped-skip") => {
                upsample_2x(out.h.clone())
            }
            Some(Transition::UpWithSkipFrom(skip)) => {
                upsample_2x(out.h.clone()) + next.outputs[*skip].clone()
            }
            Some(t) => t.resize(out.h.clone()),
            None => out.h.clone(),
        };
        next.outputs.push(out.h);
        next.cells.push(out.state);
    }
    next.memory = memory;
    CoreOutput {
        top: x,
        state: next,
        decoupling,
    }
}

/// `sum_c |cos(normalize(adapter(dc)), normalize(adapter(dm)))|` over space, per sample (`[B]`):
/// `F.normalize(dim=2)` then `torch.cosine_similarity(dim=2)`, one fused operation on flex.
fn decoupling_term(adapter: &Conv2d, dc: Tensor<4>, dm: Tensor<4>) -> Tensor<1> {
    let [b, c, h, w] = dc.dims();
    let flat = |t: Tensor<4>| adapter.forward(t).reshape([b, c, h * w]);
    vpbench_kernels::normalized_abs_cosine_sum(flat(dc), flat(dm))
}

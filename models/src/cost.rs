//! Parameters and multiply-accumulates, counted from what the model executes.
//!
//! The forward pass runs on burn's capture device, which records every operation with its
//! shapes without computing anything; the counter then walks that graph. Nothing here is a
//! per-model table, so a model's count follows its code.

use burn::tensor::{Device, Tensor};
use std::collections::HashSet;

use burn_ir::{
    ActivationOperationIr, BaseOperationIr, FloatOperationIr, InterpolateModeIr, ModuleOperationIr,
    OperationIr, TensorId, TensorIr,
};
use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::{Feeding, ModelError};

/// MACs of one evaluation forward pass, by kind of operation.
///
/// The paper (thop 0.1.1) counts convolutions as `out_numel x Cin/groups x kh x kw` without
/// bias, transposed convolutions the same way over their output, and bilinear upsampling as
/// 11 per output element; everything functional counts zero. `matmul` is kept apart because
/// the paper's convention leaves it out for the recurrent models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacCount {
    pub conv: u64,
    pub conv_transpose: u64,
    pub upsample: u64,
    /// thop counts `nn.Softmax` modules as `rows x (3N - 1)`; functional softmax inside fused
    /// operations (PrecipLSTM's local attention) does not reach the graph as a softmax.
    pub softmax: u64,
    /// Linear layers (`nn.Linear`): matrix products with a parameter, `out_numel x in`.
    pub linear: u64,
    /// LayerNorm with affine parameters: thop counts `4 x numel`.
    pub norm: u64,
    /// Matrix products of two activations (attention scores and mixing, fused attention):
    /// functional in the references, so not in thop's count.
    pub matmul: u64,
}

impl MacCount {
    /// The thop convention of the paper: convolutions, transposed convolutions, upsampling.
    pub fn paper(&self) -> u64 {
        self.conv + self.conv_transpose + self.upsample + self.softmax + self.linear + self.norm
    }

    /// Every counted multiply-accumulate, matrix products included.
    pub fn total(&self) -> u64 {
        self.paper() + self.matmul
    }

    /// Counts a captured graph. Tensors initialised in the scope (the parameters) and their
    /// reshapes are tracked, to tell linear layers from products of activations.
    fn from_graph(ops: &[OperationIr]) -> Self {
        let mut count = Self::default();
        let mut parameters: HashSet<TensorId> = HashSet::new();
        for op in ops {
            let derived = |input: &TensorIr, out: &TensorIr, set: &mut HashSet<TensorId>| {
                if set.contains(&input.id) {
                    set.insert(out.id);
                }
            };
            match op {
                OperationIr::Init(init) => {
                    parameters.insert(init.out.id);
                }
                OperationIr::BaseFloat(
                    BaseOperationIr::Reshape(s) | BaseOperationIr::Expand(s),
                ) => derived(&s.input, &s.out, &mut parameters),
                OperationIr::BaseFloat(BaseOperationIr::SwapDims(s)) => {
                    derived(&s.input, &s.out, &mut parameters)
                }
                OperationIr::BaseFloat(BaseOperationIr::Permute(p)) => {
                    derived(&p.input, &p.out, &mut parameters)
                }
                OperationIr::Float(_, FloatOperationIr::Matmul(m)) => {
                    let k = m.lhs.shape[m.lhs.shape.len() - 1] as u64;
                    let macs = m.out.shape.iter().product::<usize>() as u64 * k;
                    if parameters.contains(&m.lhs.id) || parameters.contains(&m.rhs.id) {
                        count.linear += macs;
                    } else {
                        count.matmul += macs;
                    }
                }
                other => count.add(other),
            }
        }
        count
    }

    fn add(&mut self, op: &OperationIr) {
        let numel = |shape: &[usize]| shape.iter().product::<usize>() as u64;
        match op {
            OperationIr::Module(ModuleOperationIr::Conv2d(c)) => {
                let w = &c.weight.shape;
                self.conv += numel(&c.out.shape) * (w[1] * w[2] * w[3]) as u64;
            }
            OperationIr::Module(ModuleOperationIr::ConvTranspose2d(c)) => {
                let cin_per_group = c.x.shape[1] / c.options.groups;
                let w = &c.weight.shape;
                self.conv_transpose += numel(&c.out.shape) * (cin_per_group * w[2] * w[3]) as u64;
            }
            OperationIr::Module(ModuleOperationIr::Interpolate(i))
                if matches!(i.options.mode, InterpolateModeIr::Bilinear) =>
            {
                self.upsample += 11 * numel(&i.out.shape);
            }
            OperationIr::Activation(ActivationOperationIr::Softmax(s)) => {
                let n = s.input.shape[s.axis] as u64;
                self.softmax += numel(&s.input.shape) / n * (3 * n - 1);
            }
            OperationIr::Module(ModuleOperationIr::Linear(l)) => {
                self.linear += numel(&l.out.shape) * l.weight.shape[0] as u64;
            }
            OperationIr::Module(ModuleOperationIr::LayerNorm(n)) => {
                let affine = if n.beta.is_some() { 2 } else { 1 };
                self.norm += 2 * affine * numel(&n.input.shape);
            }
            OperationIr::Module(ModuleOperationIr::Attention(a)) => {
                // q k^T and A v
                let (q, v) = (&a.query.shape, &a.value.shape);
                let lk = a.key.shape[2] as u64;
                self.matmul += numel(q) * lk + numel(&q[..3]) * lk * v[3] as u64;
            }
            _ => {}
        }
    }
}

/// Parameters and MACs of a model at its configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostReport {
    pub model: String,
    pub params: usize,
    /// Paper convention, one sequence (S-1 steps), batch 1.
    pub macs: u64,
    pub macs_breakdown: MacCount,
    pub batch: usize,
    pub counted: String,
}

/// The operations of one evaluation forward pass over a whole sequence at `batch`, recorded
/// on burn's capture device (nothing is computed).
fn capture_forward(model: &Model, batch: usize) -> Result<Vec<OperationIr>, ModelError> {
    let device = Device::capture();
    let host = model.without_autodiff();
    let c = host.config().clone();
    let mut outcome = Ok(());
    let graph = device
        .capture_scope(|scope| {
            let captured = host.to_device(&device);
            let frames = Tensor::<5>::zeros(
                [batch, c.seq_len(), c.image_channels, c.height, c.width],
                &device,
            );
            outcome = captured
                .forward(frames, &Feeding::Autoregressive)
                .map(|_| ());
            scope.complete([], [])
        })
        .map_err(|e| ModelError::Cost {
            model: model.name().to_string(),
            message: format!("{e:?}"),
        })?;
    outcome?;
    Ok(graph.graph.operations)
}

/// Counts the MACs of one evaluation forward pass over a whole sequence at `batch`.
pub fn count_macs(model: &Model, batch: usize) -> Result<MacCount, ModelError> {
    Ok(MacCount::from_graph(&capture_forward(model, batch)?))
}

/// The paper's analytic training memory (Sec. 4.3.1), `M_all = 4 M_par + 2 M_out`: the
/// parameters, their gradients and Adam's two moments, plus every forward output and its
/// gradient. Device-independent: it says what training must hold, beside the measured peak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticMemory {
    /// `M_par`: bytes of the trainable parameters.
    pub parameter_bytes: u64,
    /// `M_out`: bytes of every tensor the forward pass produces at the batch, views
    /// (reshape, permute, transpose, expand, slice) and parameters excluded.
    pub output_bytes: u64,
    /// `M_all = 4 M_par + 2 M_out`.
    pub total_bytes: u64,
}

/// [`AnalyticMemory`] of training `model` on sequences of its configuration at `batch`.
pub fn analytic_memory(model: &Model, batch: usize) -> Result<AnalyticMemory, ModelError> {
    let ops = capture_forward(model, batch)?;
    let bytes = |t: &TensorIr| t.shape.iter().product::<usize>() as u64 * t.dtype.size() as u64;
    let output_bytes = ops
        .iter()
        .filter(|op| {
            !matches!(
                op,
                OperationIr::Init(_)
                    | OperationIr::Drop(_)
                    | OperationIr::BaseFloat(
                        BaseOperationIr::Reshape(_)
                            | BaseOperationIr::SwapDims(_)
                            | BaseOperationIr::Permute(_)
                            | BaseOperationIr::Expand(_)
                            | BaseOperationIr::Slice(_)
                    )
            )
        })
        .flat_map(|op| op.outputs())
        .map(bytes)
        .sum::<u64>();
    let parameter_bytes = 4 * model.num_params() as u64;
    Ok(AnalyticMemory {
        parameter_bytes,
        output_bytes,
        total_bytes: 4 * parameter_bytes + 2 * output_bytes,
    })
}

/// Params and paper-convention MACs (batch 1, one sequence) of `model`.
pub fn cost_report(model: &Model) -> Result<CostReport, ModelError> {
    let breakdown = count_macs(model, 1)?;
    Ok(CostReport {
        model: model.name().to_string(),
        params: model.num_params(),
        macs: breakdown.paper(),
        macs_breakdown: breakdown,
        batch: 1,
        counted: "thop convention: conv2d and conv-transpose2d (out_numel x Cin/groups x kh x kw, \
                  no bias), linear layers (out_numel x in), LayerNorm (4 x numel; GroupNorm, \
                  composed of primitive ops, is not seen), bilinear upsample (11 per output \
                  element), softmax modules (rows x (3N-1)); products of activations (attention) \
                  listed apart as matmul, not in macs"
            .to_string(),
    })
}

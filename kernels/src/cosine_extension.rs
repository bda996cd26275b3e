//! PredRNN-V2's decoupling term `sum_c |cos(normalize(a), normalize(b))|` over rows of
//! `[B, C, N]` tensors as one flex operation with its own backward.
//!
//! Composed from burn operations (`F.normalize` twice, then `cosine_similarity`, `abs`, a sum)
//! it is about fifteen passes over `a` and `b` forward and twice that backward, each a
//! fresh tensor: at the quick profile that was a fifth of a PredRNN-V2 training step. Every
//! quantity of a row follows from three sums (`a.a`, `b.b`, `a.b`), so the forward is one
//! pass, and the gradient of each row is `alpha a + beta b` with scalars from the same sums:
//! one pass backward. The scalars are the composition's chain rule, clamps included.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use crate::activation::PARALLEL_CHUNK;
use crate::flex::{f32_values, flex_tensor, register_gradients, runs_on_flex};

/// `F.normalize`'s floor on a norm.
const NORMALIZE_EPS: f64 = 1e-12;
/// `torch.cosine_similarity`'s floor on the product of the norms.
const COSINE_EPS: f64 = 1e-8;

#[backend_extension(Flex, Autodiff)]
pub trait CpuCosineBackend: Backend {
    fn normalized_abs_cosine_sum_fused(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `sum over dim 1 of |cosine_similarity(F.normalize(a, dim=2), F.normalize(b, dim=2), dim=2)|`
/// for `a`, `b` of shape `[B, C, N]`: `[B]`. One fused operation on flex, burn's elsewhere.
pub fn normalized_abs_cosine_sum(a: Tensor<3>, b: Tensor<3>) -> Tensor<1> {
    assert_eq!(a.dims(), b.dims(), "normalized_abs_cosine_sum: the two operands differ in shape");
    if !runs_on_flex(&a.device()) {
        return composed(a, b);
    }
    Tensor::from_dispatch(<Dispatch as CpuCosineBackend>::normalized_abs_cosine_sum_fused(
        a.into_dispatch(),
        b.into_dispatch(),
    ))
}

/// The same from burn's operations, as the authors' code writes it.
fn composed(a: Tensor<3>, b: Tensor<3>) -> Tensor<1> {
    let [batch, ..] = a.dims();
    let normalize = |t: Tensor<3>| {
        let norm = t.clone().square().sum_dim(2).sqrt().clamp_min(NORMALIZE_EPS);
        t / norm
    };
    let (u, v) = (normalize(a), normalize(b));
    let nu = u.clone().square().sum_dim(2).sqrt();
    let nv = v.clone().square().sum_dim(2).sqrt();
    let cos = (u * v).sum_dim(2) / (nu * nv).clamp_min(COSINE_EPS);
    cos.abs().sum_dim(1).reshape([batch])
}

/// One row's sums and the quantities of the forward built from them (f64 throughout).
#[derive(Clone, Copy, Debug)]
struct Row {
    /// `sqrt(a.a)`, `sqrt(b.b)`, `a.b`.
    ra: f64,
    rb: f64,
    sab: f64,
    /// The clamped norms `F.normalize` divides by.
    na: f64,
    nb: f64,
    /// Norms of the normalized rows, and the clamped product `cosine_similarity` divides by.
    nu: f64,
    nv: f64,
    product: f64,
    divisor: f64,
    cos: f64,
}

impl Row {
    fn new(a: &[f32], b: &[f32]) -> Self {
        let [saa, sbb, sab] = sums(a, b);
        let (ra, rb) = (saa.sqrt(), sbb.sqrt());
        let (na, nb) = (ra.max(NORMALIZE_EPS), rb.max(NORMALIZE_EPS));
        let (nu, nv) = (ra / na, rb / nb);
        let product = nu * nv;
        let divisor = product.max(COSINE_EPS);
        let cos = sab / (na * nb) / divisor;
        Self { ra, rb, sab, na, nb, nu, nv, product, divisor, cos }
    }

    /// `(alpha_a, beta_a, alpha_b, beta_b)` with `d a = alpha_a a + beta_a b` and
    /// `d b = alpha_b b + beta_b a`, for upstream gradient `up` of `|cos|`.
    fn gradient(&self, up: f64) -> [f64; 4] {
        let d_cos = up * sign(self.cos);
        let d_dot = d_cos / self.divisor; // of u.v
        let d_divisor = -d_cos * self.cos / self.divisor;
        let d_product = if self.product > COSINE_EPS { d_divisor } else { 0.0 };
        // d u = (d_dot / nb) b + (d nu / nu) u, u = a / na; then through the clamped norm.
        let side = |d_norm_u: f64, norm_u: f64, n_self: f64, n_other: f64, r_self: f64, s_self: f64| {
            let radial = if norm_u > 0.0 { d_norm_u / (norm_u * n_self) } else { 0.0 };
            let cross = d_dot / n_other;
            let d_u_dot_self = cross * self.sab + radial * s_self;
            let through_norm = if r_self > NORMALIZE_EPS { d_u_dot_self / (n_self * n_self * r_self) } else { 0.0 };
            [radial / n_self - through_norm, cross / n_self]
        };
        let [alpha_a, beta_a] = side(d_product * self.nv, self.nu, self.na, self.nb, self.ra, self.ra * self.ra);
        let [alpha_b, beta_b] = side(d_product * self.nu, self.nv, self.nb, self.na, self.rb, self.rb * self.rb);
        [alpha_a, beta_a, alpha_b, beta_b]
    }
}

/// `sign` as `torch.sign`: 0 at 0 (the gradient of `abs` there).
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `[a.a, b.b, a.b]` in f64, in eight lanes (independent additions, so the loop vectorises).
fn sums(a: &[f32], b: &[f32]) -> [f64; 3] {
    const LANES: usize = 8;
    let mut acc = [[0.0f64; LANES]; 3];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: Vec<(f32, f32)> = ca.remainder().iter().copied().zip(cb.remainder().iter().copied()).collect();
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            let (x, y) = (x[k] as f64, y[k] as f64);
            acc[0][k] += x * x;
            acc[1][k] += y * y;
            acc[2][k] += x * y;
        }
    }
    let mut total = acc.map(|lanes| lanes.iter().sum::<f64>());
    for (x, y) in tail {
        let (x, y) = (x as f64, y as f64);
        total[0] += x * x;
        total[1] += y * y;
        total[2] += x * y;
    }
    total
}

/// `[B, C, N]` of a flex tensor.
fn dims3(t: &FlexTensor) -> [usize; 3] {
    let shape = t.layout().shape();
    assert_eq!(shape.num_dims(), 3, "expected a 3-D tensor");
    [shape[0], shape[1], shape[2]]
}

/// Runs `f(row)` for every row, on rayon's threads when the tensors are large.
fn each_row<T: Send>(rows: usize, values: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if values <= PARALLEL_CHUNK {
        (0..rows).map(f).collect()
    } else {
        (0..rows).into_par_iter().map(f).collect()
    }
}

#[derive(Debug, Clone, Copy)]
struct AbsCosineSum;

impl AbsCosineSum {
    fn forward(a: &FlexTensor, b: &FlexTensor) -> FlexTensor {
        let [batch, channels, n] = dims3(a);
        assert_eq!(dims3(b), [batch, channels, n], "normalized_abs_cosine_sum: operands differ in shape");
        let (av, bv) = (f32_values(a), f32_values(b));
        let rows = each_row(batch * channels, av.len(), |r| {
            let range = r * n..(r + 1) * n;
            Row::new(&av[range.clone()], &bv[range]).cos.abs()
        });
        let out = rows.chunks(channels.max(1)).map(|c| c.iter().sum::<f64>() as f32).collect();
        flex_tensor(out, [batch])
    }
}

impl Backward<Flex, 2> for AbsCosineSum {
    /// The two operands (flex tensors share their buffers: nothing copied).
    type State = [FlexTensor; 2];

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let up = grads.consume::<Flex>(&ops.node);
        let [a, b] = &ops.state;
        let [_, channels, n] = dims3(a);
        let (av, bv, upv) = (f32_values(a), f32_values(b), f32_values(&up));
        let pieces = each_row(av.len() / n.max(1), av.len(), |r| {
            let range = r * n..(r + 1) * n;
            let (a, b) = (&av[range.clone()], &bv[range]);
            let [alpha_a, beta_a, alpha_b, beta_b] =
                Row::new(a, b).gradient(upv[r / channels] as f64).map(|s| s as f32);
            let da: Vec<f32> = a.iter().zip(b).map(|(&x, &y)| alpha_a * x + beta_a * y).collect();
            let db: Vec<f32> = a.iter().zip(b).map(|(&x, &y)| alpha_b * y + beta_b * x).collect();
            (da, db)
        });
        let (da, db): (Vec<Vec<f32>>, Vec<Vec<f32>>) = pieces.into_iter().unzip();
        let shapes = ops.state.each_ref().map(|t| t.layout().shape().clone());
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grads, parents, [Some(da.concat()), Some(db.concat())], shapes);
    }
}

impl CpuCosineBackend for Flex {
    fn normalized_abs_cosine_sum_fused(a: FlexTensor, b: FlexTensor) -> FlexTensor {
        AbsCosineSum::forward(&a, &b)
    }
}

impl<C: CheckpointStrategy> CpuCosineBackend for Autodiff<Flex, C> {
    fn normalized_abs_cosine_sum_fused(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        let prepared = AbsCosineSum.prepare::<C>([a.node(), b.node()]).compute_bound().stateful();
        let inputs = [a, b].map(|t| t.into_primitive());
        let out = AbsCosineSum::forward(&inputs[0], &inputs[1]);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(inputs, out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

//! Axial cuboid self-attention and the per-pixel temporal cross-attention, each with a
//! learned relative position bias (one row per relative offset, one column per head).

use burn::module::{Module, Param};
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// `bias[h, i, j] = table[offset(i, j), h]` for queries `i` and keys `j`.
fn relative_bias(table: &Tensor<2>, offsets: &[i64], lq: usize, lk: usize) -> Tensor<3> {
    let heads = table.dims()[1];
    let device = table.device();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(offsets.to_vec(), [lq * lk]), &device);
    table
        .clone()
        .select(0, idx)
        .reshape([lq, lk, heads])
        .permute([2, 0, 1])
}

fn bias_table(rows: usize, heads: usize, device: &Device) -> Param<Tensor<2>> {
    Initializer::Normal {
        mean: 0.0,
        std: 0.02,
    }
    .init([rows, heads], device)
}

/// Multi-head attention of `q [N, Lq, C]` over `k, v [N, Lk, C]` with bias `[heads, Lq, Lk]`.
fn multi_head(
    q: Tensor<3>,
    k: Tensor<3>,
    v: Tensor<3>,
    bias: Tensor<3>,
    heads: usize,
) -> Tensor<3> {
    let [n, lq, c] = q.dims();
    let lk = k.dims()[1];
    let split = |t: Tensor<3>, l: usize| t.reshape([n, l, heads, c / heads]).swap_dims(1, 2);
    let bias = bias.unsqueeze_dim::<4>(0).expand([n, heads, lq, lk]);
    let out = attention(
        split(q, lq),
        split(k, lk),
        split(v, lk),
        None,
        Some(bias),
        AttentionModuleOptions::default(),
    );
    out.swap_dims(1, 2).reshape([n, lq, c])
}

/// Self-attention along one axis (1 = T, 2 = H, 3 = W) of `[B, T, H, W, C]`: the cuboid
/// (T,1,1), (1,H,1) or (1,1,W) of the "axial" pattern.
#[derive(Module, Debug)]
pub struct AxialSelfAttention {
    pub norm: LayerNorm,
    pub qkv: Linear,
    pub proj: Linear,
    pub relative_position_bias_table: Param<Tensor<2>>,
    pub proj_drop: Dropout,
    axis: usize,
    length: usize,
    heads: usize,
}

impl AxialSelfAttention {
    pub fn new(
        dim: usize,
        axis: usize,
        length: usize,
        heads: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        Self {
            norm: LayerNormConfig::new(dim).init(device),
            qkv: LinearConfig::new(dim, 3 * dim)
                .with_bias(false)
                .init(device),
            proj: LinearConfig::new(dim, dim).init(device),
            relative_position_bias_table: bias_table(2 * length - 1, heads, device),
            proj_drop: DropoutConfig::new(dropout).init(),
            axis,
            length,
            heads,
        }
    }

    /// The attention output (the block adds the residual).
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let dims = x.dims();
        let c = dims[4];
        // move the attended axis next to the channels: [.., L, C]
        let order: [usize; 5] = match self.axis {
            1 => [0, 2, 3, 1, 4],
            2 => [0, 1, 3, 2, 4],
            _ => [0, 1, 2, 3, 4],
        };
        let moved = self.norm.forward(x).permute(order);
        let md = moved.dims();
        let l = md[3];
        let seq = moved.reshape([md[0] * md[1] * md[2], l, c]);
        let [q, k, v]: [Tensor<3>; 3] = self
            .qkv
            .forward(seq)
            .chunk(3, 2)
            .try_into()
            .expect("q, k, v");
        let offsets: Vec<i64> = (0..l * l)
            .map(|p| (p / l) as i64 - (p % l) as i64 + l as i64 - 1)
            .collect();
        let bias = relative_bias(&self.relative_position_bias_table.val(), &offsets, l, l);
        let out = self
            .proj_drop
            .forward(self.proj.forward(multi_head(q, k, v, bias, self.heads)));
        let mut inverse = [0; 5];
        for (i, &o) in order.iter().enumerate() {
            inverse[o] = i;
        }
        out.reshape(md).permute(inverse)
    }
}

/// Each decoder token attends to the memory tokens at the same pixel, over all memory
/// frames (pattern `cross_1x1`, one temporal group). The relative offset is query time minus
/// memory time, both counted from 0; the table spans `2 (T_in + T_out) - 1`.
#[derive(Module, Debug)]
pub struct TemporalCrossAttention {
    pub norm: LayerNorm,
    pub q_proj: Linear,
    pub kv_proj: Linear,
    pub proj: Linear,
    pub relative_position_bias_table: Param<Tensor<2>>,
    pub proj_drop: Dropout,
    max_time: usize,
    heads: usize,
}

impl TemporalCrossAttention {
    pub fn new(dim: usize, max_time: usize, heads: usize, dropout: f64, device: &Device) -> Self {
        Self {
            norm: LayerNormConfig::new(dim).init(device),
            q_proj: LinearConfig::new(dim, dim).with_bias(false).init(device),
            kv_proj: LinearConfig::new(dim, 2 * dim)
                .with_bias(false)
                .init(device),
            proj: LinearConfig::new(dim, dim).init(device),
            relative_position_bias_table: bias_table(2 * max_time - 1, heads, device),
            proj_drop: DropoutConfig::new(dropout).init(),
            max_time,
            heads,
        }
    }

    /// `x [B, T_out, H, W, C]` attends to `memory [B, T_in, H, W, C]` (not normalised).
    pub fn forward(&self, x: Tensor<5>, memory: Tensor<5>) -> Tensor<5> {
        let [b, tq, h, w, c] = x.dims();
        let tk = memory.dims()[1];
        let per_pixel = |t: Tensor<5>, len: usize, ch: usize| {
            t.permute([0, 2, 3, 1, 4]).reshape([b * h * w, len, ch])
        };
        let q = per_pixel(self.q_proj.forward(self.norm.forward(x)), tq, c);
        let [k, v]: [Tensor<3>; 2] = per_pixel(self.kv_proj.forward(memory), tk, 2 * c)
            .chunk(2, 2)
            .try_into()
            .expect("k, v");
        // query and memory times both counted from 0 (the official index buffer is built over
        // max_time and sliced to [:T_out, :T_in])
        let offsets: Vec<i64> = (0..tq * tk)
            .map(|p| (p / tk) as i64 - (p % tk) as i64 + self.max_time as i64 - 1)
            .collect();
        let bias = relative_bias(&self.relative_position_bias_table.val(), &offsets, tq, tk);
        let out = self
            .proj_drop
            .forward(self.proj.forward(multi_head(q, k, v, bias, self.heads)));
        out.reshape([b, h, w, tq, c]).permute([0, 3, 1, 2, 4])
    }
}

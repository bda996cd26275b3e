//! TrajGRU (`models/trajgru.py`): a GRU whose hidden-to-hidden connections follow
//! `L` learned flow fields ("links"), warping the hidden state by bilinear sampling.

use burn::config::Config;
use burn::module::Module;
use crate::layers::{Conv2d, conv_sum};
use burn::tensor::activation::leaky_relu;
use crate::layers::sigmoid;
use burn::tensor::{Device, Tensor};

use super::{Cell, CellInput, CellOutput, split_gates};
use crate::ModelConfig;
use crate::layers::same_conv;
use crate::ops::warp;

const LEAK: f64 = 0.2;

#[derive(Config, Debug)]
pub struct TrajGruCellConfig {
    pub hidden: usize,
    #[config(default = 3)]
    pub kernel: usize,
    /// `cfg.TrajGRU_link_num`.
    #[config(default = 10)]
    pub links: usize,
}

#[derive(Module, Debug)]
pub struct TrajGruCell {
    pub _conv_x2h: Conv2d,
    pub _conv_x2f: Conv2d,
    pub _conv_h2f: Conv2d,
    pub _conv_flow: Conv2d,
    pub project: Conv2d,
    links: usize,
}

impl TrajGruCellConfig {
    pub fn init(&self, device: &Device) -> TrajGruCell {
        let (c, k, l) = (self.hidden, self.kernel, self.links);
        TrajGruCell {
            _conv_x2h: same_conv(c, 3 * c, k, device),
            _conv_x2f: same_conv(c, c, k, device),
            _conv_h2f: same_conv(c, c, k, device),
            _conv_flow: same_conv(c, 2 * l, k, device),
            project: same_conv(l * c, 3 * c, 1, device),
            links: l,
        }
    }
}

impl Cell for TrajGruCell {
    type State = Tensor<4>;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        TrajGruCellConfig::new(config.hidden)
            .with_kernel(config.kernel)
            .init(device)
    }

    fn step(&self, input: CellInput, state: Option<Tensor<4>>) -> CellOutput<Tensor<4>> {
        let x = input.x;
        let h = state.unwrap_or_else(|| x.zeros_like());
        let [b, _, height, width] = h.dims();
        let features = leaky_relu(
            conv_sum(&self._conv_x2f, x.clone(), &self._conv_h2f, h.clone()),
            LEAK,
        );
        let flows = self._conv_flow.forward(features);
        let warped: Vec<Tensor<4>> = (0..self.links)
            .map(|l| {
                let u = flows
                    .clone()
                    .narrow(1, 2 * l, 1)
                    .reshape([b, height, width]);
                let v = flows
                    .clone()
                    .narrow(1, 2 * l + 1, 1)
                    .reshape([b, height, width]);
                warp(h.clone(), u.neg(), v.neg())
            })
            .collect();
        let [zx, rx, hx] = split_gates(self._conv_x2h.forward(x));
        let [zh, rh, hh] = split_gates(self.project.forward(Tensor::cat(warped, 1)));
        let z = sigmoid(zx + zh);
        let r = sigmoid(rx + rh);
        let candidate = leaky_relu(hx + r * hh, LEAK);
        let h = (z.clone().neg() + 1.0) * candidate + z * h;
        CellOutput::plain(h.clone(), h)
    }
}

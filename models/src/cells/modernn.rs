//! MoDeRNN's cell (`models/modernn.py`): a detail context block that lets input and hidden
//! state modulate each other with 3/5/7 kernels, then a ConvLSTM.

// Field names are the authors' state-dict names (convQ, SEBlock, conv33_X, LA).
#![allow(non_snake_case)]

use burn::config::Config;
use burn::module::Module;
use crate::layers::Conv2d;
use crate::layers::sigmoid;
use burn::tensor::{Device, Tensor};

use super::{Cell, CellInput, CellOutput};
use crate::ModelConfig;
use crate::cells::convlstm::ConvLstmState;
use crate::layers::same_conv;
use burn::tensor::ops::PadMode;

/// `cfg.ce_iters`: rounds of mutual modulation.
const DCB_ITERATIONS: usize = 5;

#[derive(Config, Debug)]
pub struct MoDeCellConfig {
    pub hidden: usize,
    #[config(default = 3)]
    pub kernel: usize,
}

#[derive(Module, Debug)]
pub struct MoDeCell {
    pub conv33_X: Conv2d,
    pub conv55_X: Conv2d,
    pub conv77_X: Conv2d,
    pub conv33_H: Conv2d,
    pub conv55_H: Conv2d,
    pub conv77_H: Conv2d,
    pub _conv_x2h: Conv2d,
    pub _conv_h2h: Conv2d,
}

impl MoDeCellConfig {
    pub fn init(&self, device: &Device) -> MoDeCell {
        let c = self.hidden;
        MoDeCell {
            conv33_X: same_conv(c, c, 3, device),
            conv55_X: same_conv(c, c, 5, device),
            conv77_X: same_conv(c, c, 7, device),
            conv33_H: same_conv(c, c, 3, device),
            conv55_H: same_conv(c, c, 5, device),
            conv77_H: same_conv(c, c, 7, device),
            _conv_x2h: same_conv(c, 4 * c, self.kernel, device),
            _conv_h2h: same_conv(c, 4 * c, self.kernel, device),
        }
    }
}

fn multi_kernel_gate(k3: &Conv2d, k5: &Conv2d, k7: &Conv2d, t: Tensor<4>) -> Tensor<4> {
    let sum = if vpbench_kernels::runs_on_flex(&t.device()) && [k3, k5, k7].iter().all(|k| is_centred_same(k)) {
        summed_kernel_conv([k3, k5, k7], t)
    } else {
        // Elsewhere, and on the capture device that counts the authors' MACs, three convolutions.
        k3.forward(t.clone()) + k5.forward(t.clone()) + k7.forward(t)
    };
    sigmoid(sum.div_scalar(3.0)).mul_scalar(2.0)
}

/// A square, odd, stride-1 kernel padded by half its size on every side (`same_conv`).
fn is_centred_same(k: &Conv2d) -> bool {
    let [kh, kw] = k.kernel_size;
    let p = (kh - 1) / 2;
    kh == kw
        && kh % 2 == 1
        && k.stride == [1, 1]
        && k.dilation == [1, 1]
        && k.groups == 1
        && k.padding == burn::nn::PaddingConfig2d::Explicit(p, p, p, p)
}

/// `k3(t) + k5(t) + k7(t)` as one 7x7 convolution: the kernels are centred and "same"
/// padded, so their sum, each zero-padded to 7x7, convolves to the same values (49 taps per
/// output instead of 9 + 25 + 49). The gradients of the three kernels flow back through the
/// padding and the sum.
fn summed_kernel_conv(kernels: [&Conv2d; 3], t: Tensor<4>) -> Tensor<4> {
    let widest = kernels.iter().map(|k| k.kernel_size[0]).max().unwrap_or(1);
    let weight = kernels
        .iter()
        .map(|k| {
            let border = (widest - k.kernel_size[0]) / 2;
            k.weight.val().pad((border, border, border, border), PadMode::Constant(0.0))
        })
        .reduce(|a, b| a + b)
        .expect("three kernels");
    let bias = kernels
        .iter()
        .filter_map(|k| k.bias.as_ref().map(|b| b.val()))
        .reduce(|a, b| a + b);
    let pad = (widest - 1) / 2;
    vpbench_kernels::conv2d_flex(vec![t], weight, bias, [pad, pad])
}

impl Cell for MoDeCell {
    type State = ConvLstmState;

    fn from_model_config(config: &ModelConfig, device: &Device) -> Self {
        MoDeCellConfig::new(config.hidden)
            .with_kernel(config.kernel)
            .init(device)
    }

    fn step(&self, input: CellInput, state: Option<ConvLstmState>) -> CellOutput<ConvLstmState> {
        let mut x = input.x;
        let ConvLstmState { mut h, c } = state.unwrap_or_else(|| ConvLstmState::zeros(&x));
        for i in 1..=DCB_ITERATIONS {
            if i % 2 == 1 {
                x = multi_kernel_gate(&self.conv33_H, &self.conv55_H, &self.conv77_H, h.clone())
                    * x;
            } else {
                h = multi_kernel_gate(&self.conv33_X, &self.conv55_X, &self.conv77_X, x.clone())
                    * h;
            }
        }
        let next = ConvLstmState { h, c }.update(&self._conv_x2h, &self._conv_h2h, x);
        CellOutput::plain(next.h.clone(), next)
    }
}

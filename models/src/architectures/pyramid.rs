//! The mirrored pyramid of the MS-LSTM paper (section 2 of the spec): six layers at
//! H, H/2, H/4, H/4, H/2, H, with 2x2 max-pooling on the way down, bilinear x2 upsampling
//! on the way up and additive skips from layers 1 and 0.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::{Architecture, layer_states};
use crate::cells::Cell;
use crate::layers::{max_pool_2x, upsample_2x};
use crate::{ModelConfig, ModelError};

/// Layers of the pyramid; the wiring below is for exactly this many.
pub const PYRAMID_LAYERS: usize = 6;

#[derive(Module, Debug)]
pub struct Pyramid<C: Cell> {
    /// `rnns.lstm.<l>` in the authors' state dict.
    pub lstm: Vec<C>,
}

/// What happens to a layer's output before the next layer sees it.
enum Transition {
    Down,
    Same,
    /// Upsample, then add the output of the given (earlier) layer.
    UpWithSkipFrom(usize),
}

const WIRING: [Transition; PYRAMID_LAYERS - 1] = [
    Transition::Down,
    Transition::Down,
    Transition::Same,
    Transition::UpWithSkipFrom(1),
    Transition::UpWithSkipFrom(0),
];

impl<C: Cell> Architecture for Pyramid<C> {
    type State = Vec<C::State>;

    fn new(model: &str, config: &ModelConfig, device: &Device) -> Result<Self, ModelError> {
        let invalid = |field, problem: String| ModelError::InvalidConfig {
            model: model.to_string(),
            field,
            problem,
        };
        if config.layers != PYRAMID_LAYERS {
            return Err(invalid(
                "layers",
                format!(
                    "must be {PYRAMID_LAYERS} for the mirrored pyramid, got {}",
                    config.layers
                ),
            ));
        }
        for (field, size) in [("height", config.height), ("width", config.width)] {
            if size % 4 != 0 || size < 4 {
                return Err(invalid(
                    field,
                    format!(
                        "must be a multiple of 4 so the pyramid can halve it twice, got {size}"
                    ),
                ));
            }
        }
        Ok(Self {
            lstm: (0..PYRAMID_LAYERS)
                .map(|_| C::from_model_config(config, device))
                .collect(),
        })
    }

    fn step(&self, mut x: Tensor<4>, state: Option<Self::State>) -> (Tensor<4>, Self::State) {
        let mut outputs: Vec<Tensor<4>> = Vec::with_capacity(PYRAMID_LAYERS);
        let mut next = Vec::with_capacity(PYRAMID_LAYERS);
        for (l, (cell, s)) in self
            .lstm
            .iter()
            .zip(layer_states(state, PYRAMID_LAYERS))
            .enumerate()
        {
            let (h, s) = cell.step(x, s);
            next.push(s);
            x = match WIRING.get(l) {
                Some(Transition::Down) => max_pool_2x(h.clone()),
                Some(Transition::Same) | None => h.clone(),
                Some(Transition::UpWithSkipFrom(skip)) => upsample_2x(h.clone()) + outputs[*skip].clone(),
            };
            outputs.push(h);
        }
        (x, next)
    }
}

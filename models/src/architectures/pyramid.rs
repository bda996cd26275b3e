//! The mirrored pyramid of the MS-LSTM paper (spec section 2): six layers at
//! H, H/2, H/4, H/4, H/2, H, with 2x2 max-pooling on the way down, bilinear x2 upsampling
//! on the way up and additive skips from layers 1 and 0. The zig-zag memory and the
//! look-back inputs are resized the same way, without skips.

use burn::module::Module;
use crate::layers::Conv2d;
use burn::tensor::{Device, Tensor};

use super::{Architecture, CoreOptions, CoreOutput, LayersState, Transition, adapter, step_layers};
use crate::cells::Cell;
use crate::{ModelConfig, ModelError};

/// Layers of the pyramid; the wiring below is for exactly this many.
pub const PYRAMID_LAYERS: usize = 6;

const WIRING: [Transition; PYRAMID_LAYERS - 1] = [
    Transition::Down,
    Transition::Down,
    Transition::Same,
    Transition::UpWithSkipFrom(1),
    Transition::UpWithSkipFrom(0),
];

#[derive(Module, Debug)]
pub struct Pyramid<C: Cell> {
    /// `rnns.lstm.<l>` in the authors' state dict.
    pub lstm: Vec<C>,
    /// `rnns.adapter` (MS-PredRNN-V2 only).
    pub adapter: Option<Conv2d>,
}

impl<C: Cell> Architecture for Pyramid<C> {
    type State = LayersState<C::State>;

    fn new(
        model: &str,
        config: &ModelConfig,
        options: CoreOptions,
        device: &Device,
    ) -> Result<Self, ModelError> {
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
            adapter: adapter(config, options, device),
        })
    }

    fn step(&self, x: Tensor<4>, state: Option<Self::State>) -> CoreOutput<Self::State> {
        step_layers(&self.lstm, &WIRING, self.adapter.as_ref(), x, state)
    }
}

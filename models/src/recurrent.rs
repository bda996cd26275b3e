//! The authors' wrapper `Model(embed, rnn, fc)` and its time loop (spec section 1.1-1.2).

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::architectures::{Architecture, CoreOptions};
use crate::feeding::{StepSource, mix_per_sample};
use crate::layers::{Embed, Head};
use crate::model::{ModelOutput, Predictor};
use crate::{Feeding, ModelConfig, ModelError};

/// Weight of PredRNN-V2's decoupling loss (`cfg.decouple_loss_weight`).
pub const DECOUPLING_WEIGHT: f64 = 0.01;

/// A recurrent video predictor: 1x1 embedding, a recurrent core, 1x1 output head.
#[derive(Module, Debug)]
pub struct Recurrent<A: Architecture> {
    pub embed: Embed,
    pub rnns: A,
    pub fc: Head,
    in_len: usize,
}

impl<A: Architecture> Recurrent<A> {
    pub fn new(
        model: &str,
        config: &ModelConfig,
        options: CoreOptions,
        device: &Device,
    ) -> Result<Self, ModelError> {
        // Construction order matches the authors' (rnn, then embed, then fc).
        let rnns = A::new(model, config, options, device)?;
        Ok(Self {
            embed: Embed::new(config.image_channels, config.hidden, device),
            rnns,
            fc: Head::new(config.hidden, config.image_channels, device),
            in_len: config.in_len,
        })
    }
}

impl<A: Architecture> Predictor for Recurrent<A> {
    fn predict(&self, frames: Tensor<5>, feeding: &Feeding) -> ModelOutput {
        let [batch, seq, channels, height, width] = frames.dims();
        let device = frames.device();
        let truth: Vec<Tensor<4>> = frames
            .chunk(seq, 1)
            .into_iter()
            .map(|f| f.reshape([batch, channels, height, width]))
            .collect();

        let mut state = None;
        let mut outputs: Vec<Tensor<4>> = Vec::with_capacity(seq - 1);
        let mut decoupling: Vec<Tensor<1>> = Vec::new();
        for (t, frame) in truth.into_iter().take(seq - 1).enumerate() {
            let input = match (feeding.source(t, self.in_len), outputs.last()) {
                (StepSource::GroundTruth, _) | (_, None) => frame,
                (StepSource::Prediction, Some(prev)) => prev.clone(),
                (StepSource::PerSample(mask), Some(prev)) => {
                    mix_per_sample(frame, prev.clone(), mask, &device)
                }
            };
            let core = self.rnns.step(self.embed.forward(input), state);
            state = Some(core.state);
            decoupling.extend(core.decoupling);
            outputs.push(self.fc.forward(core.top));
        }
        // PredRNN-V2: 0.01 x mean over steps and samples of the per-sample decoupling sums.
        let aux_loss = (!decoupling.is_empty()).then(|| {
            Tensor::<1>::cat(decoupling, 0)
                .mean()
                .mul_scalar(DECOUPLING_WEIGHT)
        });
        ModelOutput {
            predictions: Tensor::stack(outputs, 1),
            aux_loss,
        }
    }
}

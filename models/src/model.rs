//! The one model type every part of the harness works with, whatever the architecture.

use std::fmt::Debug;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::store::{
    ApplyResult, ModuleSnapshot, RecordError, SafetensorsStore, SafetensorsStoreError,
};
use burn::tensor::Gradients;
use burn::tensor::{Device, Tensor, TensorData};

use crate::{Feeding, ModelConfig, ModelError};

/// What a forward pass returns.
#[derive(Clone, Debug)]
pub struct ModelOutput {
    /// `[B, P, C, H, W]`, unclipped: predictions of the last P frames of the sequence.
    /// Recurrent models predict frame t+1 at every step t (P = S-1); SimVP predicts the
    /// future only (P = out_len).
    pub predictions: Tensor<5>,
    /// A model-specific term added to the loss (PredRNN-V2's decoupling loss), if any.
    pub aux_loss: Option<Tensor<1>>,
}

/// The contract of a concrete model: a burn module mapping frames to predictions.
///
/// Implement this (and derive `Module`); everything else a model needs comes with it.
pub trait Predictor: Module + 'static {
    /// `frames` is `[B, S, C, H, W]` in [0, 1].
    fn predict(&self, frames: Tensor<5>, feeding: &Feeding) -> ModelOutput;
}

/// The object-safe face of a [`Predictor`], so that the registry can return one type.
pub(crate) trait DynPredictor: Send + Debug {
    fn predict(&self, frames: Tensor<5>, feeding: &Feeding) -> ModelOutput;
    fn num_params(&self) -> usize;
    fn boxed_clone(&self) -> Box<dyn DynPredictor>;
    fn to_device(&self, device: &Device) -> Box<dyn DynPredictor>;
    fn fork(&self, device: &Device) -> Box<dyn DynPredictor>;
    fn gradients_to_device(&self, grads: GradientsParams, device: &Device) -> GradientsParams;
    fn without_autodiff(&self) -> Box<dyn DynPredictor>;
    fn visit_named(&self, visitor: &mut NamedParams);
    fn grads_params(&self, grads: Gradients) -> GradientsParams;
    fn optimizer_step(&mut self, optim: &mut ModuleOptimizer, lr: f64, grads: GradientsParams);
    fn load_from(
        &mut self,
        store: &mut SafetensorsStore,
    ) -> Result<ApplyResult, SafetensorsStoreError>;
    fn save_into(&self, store: &mut SafetensorsStore) -> Result<(), SafetensorsStoreError>;
    fn save_record(&self, path: &Path) -> Result<(), RecordError>;
    fn devices(&self) -> Vec<Device>;
    fn load_record(&mut self, path: &Path) -> Result<(), RecordError>;
}

impl<P: Predictor> DynPredictor for P {
    fn predict(&self, frames: Tensor<5>, feeding: &Feeding) -> ModelOutput {
        Predictor::predict(self, frames, feeding)
    }
    fn num_params(&self) -> usize {
        Module::num_params(self)
    }
    fn boxed_clone(&self) -> Box<dyn DynPredictor> {
        Box::new(self.clone())
    }
    fn to_device(&self, device: &Device) -> Box<dyn DynPredictor> {
        Box::new(self.clone().to_device(device))
    }
    fn fork(&self, device: &Device) -> Box<dyn DynPredictor> {
        let forked = self.clone().fork(device);
        // Parameters made on a device without autodiff keep their gradient setting, and
        // `train` applies it, so a model built on the CPU can train on any autodiff device.
        Box::new(if device.is_autodiff() {
            forked.train()
        } else {
            forked
        })
    }
    fn gradients_to_device(&self, grads: GradientsParams, device: &Device) -> GradientsParams {
        grads.to_device(device, self)
    }
    fn without_autodiff(&self) -> Box<dyn DynPredictor> {
        Box::new(self.valid())
    }
    fn visit_named(&self, visitor: &mut NamedParams) {
        self.visit(visitor)
    }
    fn grads_params(&self, grads: Gradients) -> GradientsParams {
        GradientsParams::from_grads(grads, self)
    }
    fn optimizer_step(&mut self, optim: &mut ModuleOptimizer, lr: f64, grads: GradientsParams) {
        *self = optim.step(lr, self.clone(), grads);
    }
    fn load_from(
        &mut self,
        store: &mut SafetensorsStore,
    ) -> Result<ApplyResult, SafetensorsStoreError> {
        ModuleSnapshot::load_from(self, store)
    }
    fn save_into(&self, store: &mut SafetensorsStore) -> Result<(), SafetensorsStoreError> {
        ModuleSnapshot::save_into(self, store)
    }
    fn devices(&self) -> Vec<Device> {
        Module::devices(self)
    }
    fn save_record(&self, path: &Path) -> Result<(), RecordError> {
        self.clone().save_file(path)
    }
    fn load_record(&mut self, path: &Path) -> Result<(), RecordError> {
        *self = self.clone().try_load_file(path)?;
        Ok(())
    }
}

/// One named parameter: its PyTorch-style path, id and shape.
#[derive(Clone, Debug)]
pub struct NamedParam {
    /// The PyTorch state-dict name.
    pub name: String,
    pub id: ParamId,
    /// The shape in burn (a `Linear` weight is `[in, out]`).
    pub shape: Vec<usize>,
    /// Whether PyTorch stores it transposed (a `Linear` weight: `[out, in]`).
    pub pytorch_transposed: bool,
}

/// Collects parameter paths as PyTorch spells them (`rnns.lstm.0._conv_x2h.weight`): the
/// module tree's field names, without enum variant names, with burn's `gamma`/`beta` of a
/// norm layer as PyTorch's `weight`/`bias` (what burn-store's PyTorch adapters do on load
/// and save).
#[derive(Default)]
pub(crate) struct NamedParams {
    /// Each entered module: its name in the PyTorch path, if it has one, and whether it is a
    /// `Linear` weight.
    path: Vec<(Option<String>, bool)>,
    pub(crate) params: Vec<NamedParam>,
}

impl ModuleVisitor for NamedParams {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        let is_norm = matches!(container_type, "Struct:GroupNorm" | "Struct:LayerNorm" | "Struct:BatchNorm");
        let pytorch = match name {
            _ if container_type.starts_with("Enum:") => None,
            "gamma" if is_norm => Some("weight".to_string()),
            "beta" if is_norm => Some("bias".to_string()),
            _ => Some(name.to_string()),
        };
        self.path.push((pytorch, container_type == "Struct:Linear" && name == "weight"));
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let name: Vec<&str> = self.path.iter().filter_map(|(n, _)| n.as_deref()).collect();
        self.params.push(NamedParam {
            name: name.join("."),
            id: param.id,
            shape: param.val().dims().to_vec(),
            pytorch_transposed: self.path.last().is_some_and(|(_, linear)| *linear),
        });
    }
}

/// A model built by the registry: its name, configuration and network.
#[derive(Debug)]
pub struct Model {
    name: &'static str,
    config: ModelConfig,
    net: Box<dyn DynPredictor>,
}

impl Clone for Model {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            config: self.config.clone(),
            net: self.net.boxed_clone(),
        }
    }
}

impl Model {
    pub(crate) fn new(name: &'static str, config: ModelConfig, net: Box<dyn DynPredictor>) -> Self {
        Self { name, config, net }
    }

    /// A model outside the registry (a custom configuration of an architecture), named `name`.
    pub fn custom<P: Predictor>(name: &'static str, config: ModelConfig, net: P) -> Self {
        Self::new(name, config, Box::new(net))
    }

    /// The registry's canonical name (`ms-lstm`, `convlstm`, ...).
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Checks `frames` against the configuration, then runs the model.
    pub fn forward(&self, frames: Tensor<5>, feeding: &Feeding) -> Result<ModelOutput, ModelError> {
        let [batch, seq, channels, height, width] = frames.dims();
        let c = &self.config;
        for (what, got, want) in [
            ("sequence length (dim 1)", seq, c.seq_len()),
            ("channels (dim 2)", channels, c.image_channels),
            ("height (dim 3)", height, c.height),
            ("width (dim 4)", width, c.width),
        ] {
            if got != want {
                return Err(ModelError::Input(format!(
                    "model '{}': frames [B, S, C, H, W] = {:?} have {what} {got}, expected {want}",
                    self.name,
                    [batch, seq, channels, height, width]
                )));
            }
        }
        if batch == 0 {
            return Err(ModelError::Input("frames have an empty batch".into()));
        }
        feeding.validate(c, batch)?;
        Ok(self.net.predict(frames, feeding))
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.net
            .devices()
            .into_iter()
            .next()
            .expect("every model has parameters")
    }

    /// Trainable parameters.
    pub fn num_params(&self) -> usize {
        self.net.num_params()
    }

    /// Every parameter with its PyTorch-style name, in registration order.
    pub fn named_params(&self) -> Vec<NamedParam> {
        let mut visitor = NamedParams::default();
        self.net.visit_named(&mut visitor);
        visitor.params
    }

    /// The same model on another device (for example the capture device, or autodiff off).
    pub fn to_device(&self, device: &Device) -> Self {
        Self::new(self.name, self.config.clone(), self.net.to_device(device))
    }

    /// A replica on `device` that trains on its own autodiff graph (data parallel); its
    /// parameters keep their ids, so its gradients apply to this model.
    pub fn fork(&self, device: &Device) -> Self {
        Self::new(self.name, self.config.clone(), self.net.fork(device))
    }

    /// The sum of gradients computed by replicas of this model (see [`Model::fork`]), on
    /// this model's device: the all-reduce of data-parallel training.
    pub fn sum_gradients(&self, parts: Vec<GradientsParams>) -> GradientsParams {
        let device = self.device();
        let mut parts = parts
            .into_iter()
            .map(|g| self.net.gradients_to_device(g, &device));
        let Some(mut total) = parts.next() else {
            return GradientsParams::new();
        };
        let params = self.named_params();
        for mut part in parts {
            for p in &params {
                macro_rules! add {
                    ($d:literal) => {
                        if let Some(g) = part.remove::<$d>(p.id) {
                            let sum = match total.remove::<$d>(p.id) {
                                Some(t) => t + g,
                                None => g,
                            };
                            total.register::<$d>(p.id, sum);
                        }
                    };
                }
                match p.shape.len() {
                    1 => add!(1),
                    2 => add!(2),
                    3 => add!(3),
                    4 => add!(4),
                    5 => add!(5),
                    d => panic!("parameter {} has rank {d}; models use ranks 1 to 5", p.name),
                }
            }
        }
        total
    }

    /// The same weights without autodiff tracking, for evaluation.
    pub fn without_autodiff(&self) -> Self {
        Self::new(self.name, self.config.clone(), self.net.without_autodiff())
    }

    /// Gradients of every named parameter (`None` where the loss does not reach it).
    pub fn named_gradients(&self, grads: Gradients) -> Vec<(NamedParam, Option<TensorData>)> {
        let grads = self.net.grads_params(grads);
        self.named_params()
            .into_iter()
            .map(|p| {
                let g = match p.shape.len() {
                    1 => grads.get::<1>(p.id).map(|t| t.into_data()),
                    2 => grads.get::<2>(p.id).map(|t| t.into_data()),
                    3 => grads.get::<3>(p.id).map(|t| t.into_data()),
                    4 => grads.get::<4>(p.id).map(|t| t.into_data()),
                    5 => grads.get::<5>(p.id).map(|t| t.into_data()),
                    d => panic!("parameter {} has rank {d}; models use ranks 1 to 5", p.name),
                };
                (p, g)
            })
            .collect()
    }

    /// Backward pass of `loss` and the gradients keyed by parameter id, for an optimiser.
    pub fn backward(&self, loss: Tensor<1>) -> GradientsParams {
        self.net.grads_params(loss.backward())
    }

    /// One optimiser update.
    pub fn optimizer_step(&mut self, optim: &mut ModuleOptimizer, lr: f64, grads: GradientsParams) {
        self.net.optimizer_step(optim, lr, grads);
    }

    pub(crate) fn load_from(
        &mut self,
        store: &mut SafetensorsStore,
    ) -> Result<ApplyResult, SafetensorsStoreError> {
        self.net.load_from(store)
    }

    /// Saves weights with their parameter ids (burn's native record), so that an
    /// optimiser's saved state still matches them after [`Model::load_training_state`].
    pub fn save_training_state(&self, path: &Path) -> Result<(), ModelError> {
        self.net
            .save_record(path)
            .map_err(|e| ModelError::file(path, format!("cannot write model record: {e}")))
    }

    /// Restores weights and parameter ids written by [`Model::save_training_state`].
    pub fn load_training_state(&mut self, path: &Path) -> Result<(), ModelError> {
        self.net
            .load_record(path)
            .map_err(|e| ModelError::file(path, format!("cannot read model record: {e}")))
    }

    pub(crate) fn save_into(
        &self,
        store: &mut SafetensorsStore,
    ) -> Result<(), SafetensorsStoreError> {
        self.net.save_into(store)
    }
}

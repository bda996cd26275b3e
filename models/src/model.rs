//! The one model type every part of the harness works with, whatever the architecture.

use std::fmt::Debug;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::store::{
    ApplyResult, ModuleSnapshot, PytorchStore, PytorchStoreError, RecordError, SafetensorsStore,
    SafetensorsStoreError,
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

/// How [`DynPredictor::converted`] makes a new network from one.
pub(crate) enum Conversion<'a> {
    /// The same parameters (and ids) on another device.
    ToDevice(&'a Device),
    /// A replica on `device` on its own autodiff graph, gradients on wherever the device has
    /// autodiff.
    Fork(&'a Device),
    /// Autodiff tracking off, for evaluation.
    WithoutAutodiff,
}

/// Where [`DynPredictor::save`] writes and [`DynPredictor::load`] reads weights.
pub(crate) enum WeightStore<'a> {
    /// By PyTorch name, in a safetensors store (parameter ids are the model's own).
    Safetensors(&'a mut SafetensorsStore),
    /// By PyTorch name, from a PyTorch checkpoint (`torch.save(state_dict)`); read only.
    Pytorch(&'a mut PytorchStore),
    /// burn's native record file, which keeps parameter ids (for the optimiser's state).
    Record(&'a Path),
}

/// Why a [`WeightStore`] could not be read or written.
pub(crate) enum StoreError {
    Safetensors(SafetensorsStoreError),
    Pytorch(PytorchStoreError),
    Record(RecordError),
    /// A store that can only be read was asked to write.
    ReadOnly,
}

/// The object-safe face of a [`Predictor`], so that the registry can return one type: the
/// operations that need the concrete module type, and nothing that [`Model`] can do from
/// these.
pub(crate) trait DynPredictor: Send + Debug {
    fn predict(&self, frames: Tensor<5>, feeding: &Feeding) -> ModelOutput;
    fn boxed_clone(&self) -> Box<dyn DynPredictor>;
    fn converted(&self, conversion: Conversion<'_>) -> Box<dyn DynPredictor>;
    fn visit_named(&self, visitor: &mut NamedParams);
    /// The gradients of this network's parameters, keyed by parameter id.
    fn gradients(&self, grads: Gradients) -> GradientsParams;
    fn optimizer_step(&mut self, optim: &mut ModuleOptimizer, lr: f64, grads: GradientsParams);
    fn save(&self, store: WeightStore<'_>) -> Result<(), StoreError>;
    fn load(&mut self, store: WeightStore<'_>) -> Result<Option<ApplyResult>, StoreError>;
}

impl<P: Predictor> DynPredictor for P {
    fn predict(&self, frames: Tensor<5>, feeding: &Feeding) -> ModelOutput {
        Predictor::predict(self, frames, feeding)
    }
    fn boxed_clone(&self) -> Box<dyn DynPredictor> {
        Box::new(self.clone())
    }
    fn converted(&self, conversion: Conversion<'_>) -> Box<dyn DynPredictor> {
        match conversion {
            Conversion::ToDevice(device) => Box::new(self.clone().to_device(device)),
            Conversion::Fork(device) => {
                let forked = self.clone().fork(device);
                // Parameters made on a device without autodiff keep their gradient setting,
                // and `train` applies it, so a model built on the CPU trains on any autodiff
                // device.
                Box::new(if device.is_autodiff() { forked.train() } else { forked })
            }
            Conversion::WithoutAutodiff => Box::new(self.valid()),
        }
    }
    fn visit_named(&self, visitor: &mut NamedParams) {
        self.visit(visitor)
    }
    fn gradients(&self, grads: Gradients) -> GradientsParams {
        GradientsParams::from_grads(grads, self)
    }
    fn optimizer_step(&mut self, optim: &mut ModuleOptimizer, lr: f64, grads: GradientsParams) {
        *self = optim.step(lr, self.clone(), grads);
    }
    fn save(&self, store: WeightStore<'_>) -> Result<(), StoreError> {
        match store {
            WeightStore::Safetensors(store) => ModuleSnapshot::save_into(self, store).map_err(StoreError::Safetensors),
            WeightStore::Pytorch(_) => Err(StoreError::ReadOnly),
            WeightStore::Record(path) => self.clone().save_file(path).map_err(StoreError::Record),
        }
    }
    fn load(&mut self, store: WeightStore<'_>) -> Result<Option<ApplyResult>, StoreError> {
        match store {
            WeightStore::Safetensors(store) => {
                ModuleSnapshot::load_from(self, store).map(Some).map_err(StoreError::Safetensors)
            }
            WeightStore::Pytorch(store) => {
                ModuleSnapshot::load_from(self, store).map(Some).map_err(StoreError::Pytorch)
            }
            WeightStore::Record(path) => {
                *self = self.clone().try_load_file(path).map_err(StoreError::Record)?;
                Ok(None)
            }
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Safetensors(e) => write!(f, "{e}"),
            StoreError::Pytorch(e) => write!(f, "{e}"),
            StoreError::Record(e) => write!(f, "{e}"),
            StoreError::ReadOnly => f.write_str("PyTorch checkpoints are read, never written"),
        }
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
    /// The device of the first parameter.
    pub(crate) device: Option<Device>,
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
        if self.device.is_none() {
            self.device = Some(param.val().device());
        }
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
        self.visited().device.expect("every model has parameters")
    }

    /// Trainable parameters.
    pub fn num_params(&self) -> usize {
        self.named_params().iter().map(|p| p.shape.iter().product::<usize>()).sum()
    }

    /// Every parameter with its PyTorch-style name, in registration order.
    pub fn named_params(&self) -> Vec<NamedParam> {
        self.visited().params
    }

    fn visited(&self) -> NamedParams {
        let mut visitor = NamedParams::default();
        self.net.visit_named(&mut visitor);
        visitor
    }

    fn converted(&self, conversion: Conversion<'_>) -> Self {
        Self::new(self.name, self.config.clone(), self.net.converted(conversion))
    }

    /// The same model on another device (for example the capture device, or autodiff off).
    pub fn to_device(&self, device: &Device) -> Self {
        self.converted(Conversion::ToDevice(device))
    }

    /// A replica on `device` that trains on its own autodiff graph (data parallel); its
    /// parameters keep their ids, so its gradients apply to this model.
    pub fn fork(&self, device: &Device) -> Self {
        self.converted(Conversion::Fork(device))
    }

    /// The same weights without autodiff tracking, for evaluation.
    pub fn without_autodiff(&self) -> Self {
        self.converted(Conversion::WithoutAutodiff)
    }

    /// The sum of gradients computed by replicas of this model (see [`Model::fork`]), on
    /// this model's device: the all-reduce of data-parallel training.
    pub fn sum_gradients(&self, parts: Vec<GradientsParams>) -> GradientsParams {
        let device = self.device();
        let mut total = GradientsParams::new();
        let params = self.named_params();
        for mut part in parts {
            for p in &params {
                match p.shape.len() {
                    1 => add_gradient::<1>(&mut total, &mut part, p.id, &device),
                    2 => add_gradient::<2>(&mut total, &mut part, p.id, &device),
                    3 => add_gradient::<3>(&mut total, &mut part, p.id, &device),
                    4 => add_gradient::<4>(&mut total, &mut part, p.id, &device),
                    5 => add_gradient::<5>(&mut total, &mut part, p.id, &device),
                    d => panic!("parameter {} has rank {d}; models use ranks 1 to 5", p.name),
                }
            }
        }
        total
    }

    /// Gradients of every named parameter (`None` where the loss does not reach it).
    pub fn named_gradients(&self, grads: Gradients) -> Vec<(NamedParam, Option<TensorData>)> {
        let grads = self.net.gradients(grads);
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
        self.net.gradients(loss.backward())
    }

    /// One optimiser update.
    pub fn optimizer_step(&mut self, optim: &mut ModuleOptimizer, lr: f64, grads: GradientsParams) {
        self.net.optimizer_step(optim, lr, grads);
    }

    pub(crate) fn load_from(&mut self, store: &mut SafetensorsStore) -> Result<ApplyResult, StoreError> {
        let applied = self.net.load(WeightStore::Safetensors(store))?;
        Ok(applied.expect("a safetensors store reports what it applied"))
    }

    pub(crate) fn load_from_pytorch(&mut self, store: &mut PytorchStore) -> Result<ApplyResult, StoreError> {
        let applied = self.net.load(WeightStore::Pytorch(store))?;
        Ok(applied.expect("a PyTorch store reports what it applied"))
    }

    pub(crate) fn save_into(&self, store: &mut SafetensorsStore) -> Result<(), StoreError> {
        self.net.save(WeightStore::Safetensors(store))
    }

    /// Saves weights with their parameter ids (burn's native record), so that an
    /// optimiser's saved state still matches them after [`Model::load_training_state`].
    pub fn save_training_state(&self, path: &Path) -> Result<(), ModelError> {
        self.net
            .save(WeightStore::Record(path))
            .map_err(|e| ModelError::file(path, format!("cannot write model record: {e}")))
    }

    /// Restores weights and parameter ids written by [`Model::save_training_state`].
    pub fn load_training_state(&mut self, path: &Path) -> Result<(), ModelError> {
        self.net
            .load(WeightStore::Record(path))
            .map(drop)
            .map_err(|e| ModelError::file(path, format!("cannot read model record: {e}")))
    }
}

/// Moves `id`'s gradient from `part` to `device` and adds it into `total`.
fn add_gradient<const D: usize>(total: &mut GradientsParams, part: &mut GradientsParams, id: ParamId, device: &Device) {
    if let Some(g) = part.remove::<D>(id) {
        let g = g.to_device(device);
        let sum = match total.remove::<D>(id) {
            Some(t) => t + g,
            None => g,
        };
        total.register::<D>(id, sum);
    }
}

//! Weights by the authors' PyTorch state-dict names: import, checkpoints.
//!
//! Module fields carry the PyTorch names, so a state dict maps onto the tree with no table.
//! burn-store's PyTorch adapters do what differs in kind, not in name: a `Linear` weight is
//! transposed, a norm layer's `gamma`/`beta` are PyTorch's `weight`/`bias`, and enum variant
//! names (SimVP's plain-or-transposed convolution) are not part of the path. The only
//! rewrite is an optional key prefix (the golden files store `param.<name>`). Checkpoints
//! are written the same way, so they are PyTorch state dicts too.

use std::path::Path;

use burn::store::{ApplyResult, BurnToPyTorchAdapter, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};

use crate::ModelError;
use crate::model::Model;

impl Model {
    /// Loads every parameter from a safetensors file of PyTorch state-dict entries,
    /// keyed `<prefix><name>`. Other entries of the file are ignored. Fails, naming the
    /// file and key, if a parameter is missing or has the wrong shape.
    pub fn load_pytorch_safetensors(
        &mut self,
        path: &Path,
        prefix: &str,
    ) -> Result<(), ModelError> {
        if !path.is_file() {
            return Err(ModelError::file(path, "weights file not found"));
        }
        let escaped = regex::escape(prefix);
        let mut store = SafetensorsStore::from_file(path)
            .with_key_remapping(format!("^{escaped}"), "")
            .with_from_adapter(PyTorchToBurnAdapter)
            .skip_enum_variants(true)
            .allow_partial(true)
            .validate(true);
        let result = self
            .load_from(&mut store)
            .map_err(|e| ModelError::file(path, format!("cannot read weights: {e}")))?;
        self.check_applied(path, prefix, &result)
    }

    /// Loads every parameter from a PyTorch checkpoint, `torch.save(model.state_dict())`
    /// (the authors' `epoch_<N>.pth`), by the authors' names, with or without the `module.`
    /// that their DistributedDataParallel wrapper puts before every name. Entries the model
    /// does not have are ignored; a missing or misshapen parameter is an error naming it.
    pub fn load_pytorch_checkpoint(&mut self, path: &Path) -> Result<(), ModelError> {
        if !path.is_file() {
            return Err(ModelError::file(path, "PyTorch checkpoint not found"));
        }
        let mut store = PytorchStore::from_file(path)
            .with_key_remapping(r"^module\.", "")
            .skip_enum_variants(true)
            // the names are the module's own, sparse nn.Sequential indices included
            .map_indices_contiguous(false)
            .allow_partial(true)
            .validate(true);
        let result = self
            .load_from_pytorch(&mut store)
            .map_err(|e| ModelError::file(path, format!("cannot read the PyTorch checkpoint: {e}")))?;
        self.check_applied(path, "", &result)
    }

    /// An error for the first parameter that could not be applied or is missing.
    fn check_applied(&self, path: &Path, prefix: &str, result: &ApplyResult) -> Result<(), ModelError> {
        if let Some(err) = result.errors.first() {
            return Err(ModelError::file(path, format!("{err}")));
        }
        if let Some((key, _)) = result.missing.first() {
            return Err(ModelError::tensor(
                path,
                format!("{prefix}{key}"),
                format!(
                    "missing: model '{}' needs {} parameters, {} absent from the file",
                    self.name(),
                    self.named_params().len(),
                    result.missing.len()
                ),
            ));
        }
        Ok(())
    }

    /// All parameters as a safetensors file, under their PyTorch names (a state dict; the
    /// caller writes it, atomically: the harness's `atomic::write_atomic`).
    pub fn weights_safetensors(&self) -> Result<Vec<u8>, ModelError> {
        let mut store = SafetensorsStore::from_bytes(None)
            .metadata("model", self.name())
            .with_to_adapter(BurnToPyTorchAdapter)
            .skip_enum_variants(true);
        let failed = |e: &dyn std::fmt::Display| ModelError::Serialise { model: self.name().to_string(), message: e.to_string() };
        self.save_into(&mut store).map_err(|e| failed(&e))?;
        store.get_bytes().map_err(|e| failed(&e))
    }

    /// Restores parameters written from [`Model::weights_safetensors`].
    pub fn load_weights(&mut self, path: &Path) -> Result<(), ModelError> {
        self.load_pytorch_safetensors(path, "")
    }
}

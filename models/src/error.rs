use std::path::PathBuf;

/// Everything that can go wrong when building, loading or checking a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model '{name}'; known models: {known}")]
    UnknownModel { name: String, known: String },

    #[error("model '{model}': invalid configuration: field '{field}' {problem}")]
    InvalidConfig {
        model: String,
        field: &'static str,
        problem: String,
    },

    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },

    #[error("{}: tensor '{key}': {message}", path.display())]
    Tensor {
        path: PathBuf,
        key: String,
        message: String,
    },

    #[error("input frames: {0}")]
    Input(String),

    #[error("cost counting failed for model '{model}': {message}")]
    Cost { model: String, message: String },

    #[error("cannot serialise the weights of model '{model}': {message}")]
    Serialise { model: String, message: String },
}

impl ModelError {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::File {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn tensor(
        path: impl Into<PathBuf>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Tensor {
            path: path.into(),
            key: key.into(),
            message: message.into(),
        }
    }
}

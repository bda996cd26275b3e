//! Reading and making flex tensors of f32 values.

use std::borrow::Cow;

use burn::backend::DispatchDevice;
use burn::backend::Flex;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{Bytes, DType, Device, Shape};

/// Whether tensors on `device` live on flex (directly or under autodiff).
pub fn runs_on_flex(device: &Device) -> bool {
    matches!(device.as_dispatch().clone().inner(), DispatchDevice::Flex(_))
}

/// The values of `t` in row-major order: borrowed when contiguous, else gathered block by
/// block (a channel chunk of a gate tensor is a few long contiguous blocks).
pub fn f32_values(t: &FlexTensor) -> Cow<'_, [f32]> {
    assert_eq!(t.dtype(), DType::F32, "the CPU kernels run on f32 tensors");
    if let Some(values) = t.as_slice::<f32>() {
        return Cow::Borrowed(values);
    }
    if !t.layout().has_positive_strides() {
        let dense = t.to_contiguous();
        return Cow::Owned(dense.as_slice::<f32>().expect("contiguous after copy").to_vec());
    }
    let storage = t.storage::<f32>();
    let blocks = t.layout().strided_blocks();
    let len = blocks.block_len();
    let mut values = Vec::with_capacity(t.layout().num_elements());
    for start in blocks.block_starts() {
        values.extend_from_slice(&storage[start..start + len]);
    }
    Cow::Owned(values)
}

/// A contiguous f32 flex tensor.
pub fn flex_tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(shape.into()), DType::F32)
}

pub fn dims4(t: &FlexTensor) -> [usize; 4] {
    let shape = t.layout().shape();
    assert_eq!(shape.num_dims(), 4, "expected a 4-D tensor");
    [shape[0], shape[1], shape[2], shape[3]]
}


/// Hands each parent that asked for a gradient (`Some` id) its values (`Some`), as a
/// contiguous tensor of its shape: the last step of every backward here.
pub fn register_gradients<const N: usize>(
    grads: &mut Gradients,
    parents: [Option<NodeId>; N],
    values: [Option<Vec<f32>>; N],
    shapes: [Shape; N],
) {
    for ((parent, values), shape) in parents.into_iter().zip(values).zip(shapes) {
        if let (Some(id), Some(values)) = (parent, values) {
            grads.register::<Flex>(id, flex_tensor(values, shape));
        }
    }
}

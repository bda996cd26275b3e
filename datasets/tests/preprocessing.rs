//! The preprocessing against ../shared/golden/preprocessing/preprocessing.safetensors
//! (opencv-python 4.8.1 `cv2.resize` default INTER_LINEAR; CPython 3.11 `random.shuffle`).

use std::path::PathBuf;

use safetensors::{Dtype, SafeTensors};
use vpbench_datasets::preprocessing::{PythonRandom, resize_linear_f32, resize_linear_u8};

fn golden() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden/preprocessing/preprocessing.safetensors");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Shape and raw bytes of tensor `key`, checking its dtype.
fn tensor(file: &SafeTensors, key: &str, dtype: Dtype) -> (Vec<usize>, Vec<u8>) {
    let view = file.tensor(key).unwrap_or_else(|_| panic!("{key} missing"));
    assert_eq!(view.dtype(), dtype, "{key}");
    (view.shape().to_vec(), view.data().to_vec())
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

/// The resize cases in the file (`<case>.input`), whatever their number and sizes.
fn resize_cases(file: &SafeTensors) -> Vec<String> {
    let mut cases: Vec<String> =
        file.names().into_iter().filter_map(|n| n.strip_suffix(".input").map(str::to_string)).collect();
    cases.sort();
    cases
}

fn hw(shape: &[usize]) -> [usize; 2] {
    assert_eq!(shape.len(), 2, "a greyscale image");
    [shape[0], shape[1]]
}

#[test]
fn uint8_resize_is_opencvs_bit_for_bit() {
    let bytes = golden();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let cases = resize_cases(&file);
    assert!(cases.len() >= 5, "resize cases: {cases:?}");
    for case in cases {
        let (in_shape, input) = tensor(&file, &format!("{case}.input"), Dtype::U8);
        let (out_shape, want) = tensor(&file, &format!("{case}.output"), Dtype::U8);
        let got = resize_linear_u8(&input, hw(&in_shape), hw(&out_shape));
        let wrong: Vec<usize> = (0..want.len()).filter(|&i| got[i] != want[i]).collect();
        assert!(
            wrong.is_empty(),
            "{case}: {} of {} pixels differ, first at {:?} (got {}, want {})",
            wrong.len(),
            want.len(),
            wrong.first().map(|&i| (i / out_shape[1], i % out_shape[1])),
            got[wrong[0]],
            want[wrong[0]]
        );
    }
}

/// float32: all but a few pixels exact, none off by more than 1e-7 (see opencv_resize.rs for
/// what is not reproduced).
#[test]
fn float32_resize_is_opencvs_within_1e7() {
    let bytes = golden();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (mut differing, mut total, mut worst) = (0, 0, 0.0f32);
    for case in resize_cases(&file) {
        let (in_shape, input) = tensor(&file, &format!("{case}.input_f32"), Dtype::F32);
        let (out_shape, want) = tensor(&file, &format!("{case}.output_f32"), Dtype::F32);
        let got = resize_linear_f32(&f32s(&input), hw(&in_shape), hw(&out_shape));
        let want = f32s(&want);
        differing += got.iter().zip(&want).filter(|(g, w)| g != w).count();
        total += want.len();
        worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(worst, f32::max);
    }
    println!("float32 resize: {differing} of {total} pixels differ, by at most {worst:e}");
    assert!(worst <= 1e-7 && differing * 200 <= total, "{differing} of {total} pixels differ, by at most {worst:e}");
}

#[test]
fn the_shuffle_is_cpythons_seed_123() {
    let bytes = golden();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut lengths: Vec<usize> = file
        .names()
        .into_iter()
        .filter_map(|n| n.strip_prefix("shuffle_seed123.n").map(|n| n.parse().unwrap()))
        .collect();
    lengths.sort();
    assert!(lengths.len() >= 4, "{lengths:?}");
    for n in lengths {
        let (_, raw) = tensor(&file, &format!("shuffle_seed123.n{n}"), Dtype::I64);
        let want: Vec<usize> = raw.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as usize).collect();
        let mut got: Vec<usize> = (0..n).collect();
        PythonRandom::seed(123).shuffle(&mut got);
        assert_eq!(got, want, "n = {n}");
    }
}

//! OpenSTL's `dataset.npz`: `X_train`, `Y_train`, `X_test`, `Y_test`, each (N, T, 2, 32, 32)
//! in [-1, 1], chronological, both channels. The loader maps them with (x + 1) / 2.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::{DataError, Provenance, Sequences};

/// One array of the archive as f64 values and its shape.
fn read_array(
    archive: &mut zip::ZipArchive<BufReader<File>>,
    path: &Path,
    key: &str,
) -> Result<(Vec<f64>, Vec<usize>), DataError> {
    let fail = |message: String| DataError::file(path, format!("array '{key}': {message}"));
    let mut entry = archive.by_name(&format!("{key}.npy")).map_err(|_| {
        DataError::file(
            path,
            format!("expected arrays X_train, Y_train, X_test, Y_test; '{key}' is missing"),
        )
    })?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot decompress: {e}")))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| fail(format!("not a .npy array: {e}")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if npy.order() != npyz::Order::C {
        return Err(fail(
            "expected C (row-major) order, found Fortran order".into(),
        ));
    }
    let descr = npy.header().dtype().descr().trim_matches('\'').to_string();
    let values = match &descr[1..] {
        "f8" => npy.into_vec::<f64>(),
        "f4" => npy
            .into_vec::<f32>()
            .map(|v| v.into_iter().map(f64::from).collect()),
        _ => {
            return Err(fail(format!(
                "expected float32 or float64 values in [-1, 1], found dtype {descr}"
            )));
        }
    }
    .map_err(|e| {
        fail(format!(
            "truncated or unreadable data for shape {shape:?}: {e}"
        ))
    })?;
    Ok((values, shape))
}

/// Reads the archive into train and test clips of `X` then `Y` frames, both channels.
pub fn read_openstl_npz(path: &Path) -> Result<(Sequences, Sequences), DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| DataError::file(path, format!("expected an .npz (zip) archive: {e}")))?;
    let mut split = |x_key: &str, y_key: &str| -> Result<Sequences, DataError> {
        let (x, x_shape) = read_array(&mut archive, path, x_key)?;
        let (y, y_shape) = read_array(&mut archive, path, y_key)?;
        let (&[n, t_in, c, h, w], &[n_y, t_out, c_y, h_y, w_y]) = (&x_shape[..], &y_shape[..])
        else {
            return Err(DataError::file(
                path,
                format!(
                    "arrays '{x_key}' and '{y_key}': expected 5 dimensions (N, T, 2, H, W), found {x_shape:?} and {y_shape:?}"
                ),
            ));
        };
        if (n, c, h, w) != (n_y, c_y, h_y, w_y) || c != 2 {
            return Err(DataError::file(
                path,
                format!(
                    "arrays '{x_key}' {x_shape:?} and '{y_key}' {y_shape:?}: expected the same N, 2 channels and the same H, W"
                ),
            ));
        }
        let (x_clip, y_clip) = (t_in * c * h * w, t_out * c * h * w);
        let mut pixels = Vec::with_capacity(n * (x_clip + y_clip));
        for i in 0..n {
            for &v in x[i * x_clip..(i + 1) * x_clip]
                .iter()
                .chain(&y[i * y_clip..(i + 1) * y_clip])
            {
                pixels.push((((v + 1.0) / 2.0) * 255.0).round().clamp(0.0, 255.0) as u8);
            }
        }
        Ok(Sequences {
            count: n,
            len: t_in + t_out,
            channels: c,
            height: h,
            width: w,
            pixels,
            provenance: Provenance {
                synthetic: false,
                source: format!(
                    "{} (OpenSTL layout: inflow and outflow, chronological, (x+1)/2 rounded to 8 bits)",
                    path.display()
                ),
            },
        })
    };
    let train = split("X_train", "Y_train")?;
    let test = split("X_test", "Y_test")?;
    if (train.len, train.height, train.width) != (test.len, test.height, test.width) {
        return Err(DataError::file(
            path,
            format!(
                "train clips are {}x{}x{}, test clips {}x{}x{} (frames x H x W): expected the same",
                train.len, train.height, train.width, test.len, test.height, test.width
            ),
        ));
    }
    Ok((train, test))
}

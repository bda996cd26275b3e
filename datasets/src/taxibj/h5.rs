//! The DeepST year files: HDF5 with `data` (N, 2, 32, 32) flows and `date` (N,) `YYYYMMDDSS`.
//!
//! Read with `hdf5-pure`, a pure-Rust HDF5 reader, so a fresh machine needs no C library.

use std::path::Path;

use super::{FLOW_CHANNELS, FlowYear, Slot};
use crate::DataError;

/// The four files of the paper, in the order the authors concatenate them.
pub const BJ_FILES: [&str; 4] = [
    "BJ13_M32x32_T30_InOut.h5",
    "BJ14_M32x32_T30_InOut.h5",
    "BJ15_M32x32_T30_InOut.h5",
    "BJ16_M32x32_T30_InOut.h5",
];

/// The four year files of `dir`, in order; all four must be there.
pub fn read_bj_folder(dir: &Path) -> Result<Vec<FlowYear>, DataError> {
    let missing: Vec<&str> = BJ_FILES
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(DataError::file(
            dir,
            format!(
                "expected the four TaxiBJ files {} (or OpenSTL's dataset.npz); missing: {}",
                BJ_FILES.join(", "),
                missing.join(", ")
            ),
        ));
    }
    BJ_FILES
        .iter()
        .map(|f| read_bj_year(&dir.join(f)))
        .collect()
}

/// One year file.
pub fn read_bj_year(path: &Path) -> Result<FlowYear, DataError> {
    let fail = |message: String| DataError::file(path, message);
    let file = hdf5_pure::File::open(path)
        .map_err(|e| fail(format!("expected an HDF5 file (DeepST TaxiBJ year): {e}")))?;
    let data = file.dataset("data").map_err(|e| {
        fail(format!(
            "expected a dataset 'data' of shape (N, 2, H, W) holding in/out flows: {e}"
        ))
    })?;
    let shape = data
        .shape()
        .map_err(|e| fail(format!("dataset 'data': unreadable shape: {e}")))?;
    let [rows, channels, height, width] = shape[..] else {
        return Err(fail(format!(
            "dataset 'data': expected 4 dimensions (N, 2, H, W), found shape {shape:?}"
        )));
    };
    if channels as usize != FLOW_CHANNELS || height == 0 || width == 0 {
        return Err(fail(format!(
            "dataset 'data': expected shape (N, 2, H, W) (inflow, outflow), found {shape:?}"
        )));
    }
    let flows = data
        .read_f64()
        .map_err(|e| fail(format!("dataset 'data': cannot read as numbers: {e}")))?;
    let stamps = file
        .dataset("date")
        .and_then(|d| d.read_string())
        .map_err(|e| {
            fail(format!(
                "expected a dataset 'date' of N strings YYYYMMDDSS: {e}"
            ))
        })?;
    if stamps.len() != rows as usize {
        return Err(fail(format!(
            "dataset 'date' has {} entries, expected one per row of 'data' ({rows})",
            stamps.len()
        )));
    }
    let slots = stamps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Slot::parse(s).ok_or_else(|| {
                fail(format!(
                    "dataset 'date', entry {i}: expected YYYYMMDDSS with slot 01-48, found '{}'",
                    s.trim_end_matches('\0')
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FlowYear {
        source: path.display().to_string(),
        height: height as usize,
        width: width as usize,
        flows,
        slots,
    })
}

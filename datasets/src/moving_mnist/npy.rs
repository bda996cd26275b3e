//! The authors' `.npy` layout: `(S, N, H, W)` uint8, time first.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::{DataError, Provenance, Sequences};

/// Reads a `(S, N, H, W)` uint8 array into clip-major sequences.
pub fn read_npy_sequences(path: &Path) -> Result<Sequences, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let npy = npyz::NpyFile::new(BufReader::new(file))
        .map_err(|e| DataError::file(path, format!("not a .npy file: {e}")))?;
    let descr = npy.header().dtype().descr().trim_matches('\'').to_string();
    if descr != "|u1" && descr != "<u1" && descr != ">u1" {
        return Err(DataError::file(
            path,
            format!("expected dtype uint8 (|u1), found {descr}"),
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let [len, count, height, width] = shape[..] else {
        return Err(DataError::file(
            path,
            format!("expected 4 dimensions (frames, clips, height, width), found shape {shape:?}"),
        ));
    };
    if npy.order() != npyz::Order::C {
        return Err(DataError::file(
            path,
            "expected C (row-major) order, found Fortran order",
        ));
    }
    let time_major: Vec<u8> = npy.into_vec().map_err(|e| {
        DataError::file(
            path,
            format!(
                "truncated or unreadable data: expected {} bytes for shape {shape:?}: {e}",
                len * count * height * width
            ),
        )
    })?;
    let frame = height * width;
    let mut pixels = vec![0u8; time_major.len()];
    for t in 0..len {
        for n in 0..count {
            let src = (t * count + n) * frame;
            let dst = (n * len + t) * frame;
            pixels[dst..dst + frame].copy_from_slice(&time_major[src..src + frame]);
        }
    }
    Ok(Sequences {
        count,
        len,
        channels: 1,
        height,
        width,
        pixels,
        provenance: Provenance {
            synthetic: false,
            source: format!("{}", path.display()),
        },
    })
}

/// Sequences as a `.npy` file in the authors' `(S, N, H, W)` uint8 layout (for tests and
/// exports; the caller writes the bytes, atomically where it matters).
pub fn npy_sequences_bytes(seqs: &Sequences) -> Vec<u8> {
    let shape = format!(
        "({}, {}, {}, {})",
        seqs.len, seqs.count, seqs.height, seqs.width
    );
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + header length (2) + header, padded to 64 bytes with a newline
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + seqs.pixels.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    let frame = seqs.frame_size();
    for t in 0..seqs.len {
        for n in 0..seqs.count {
            let start = (n * seqs.len + t) * frame;
            out.extend_from_slice(&seqs.pixels[start..start + frame]);
        }
    }
    out
}

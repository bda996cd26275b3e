//! MNIST's idx3-ubyte image files, plain or gzipped.

use std::io::Read;
use std::path::Path;

use crate::DataError;

/// Square grayscale digit images to draw into clips.
#[derive(Clone, Debug)]
pub struct DigitPool {
    pub size: usize,
    pub images: Vec<Vec<u8>>,
    /// Where the digits came from; `synthetic` marks built-in glyphs.
    pub source: String,
    pub synthetic: bool,
}

/// Reads `train-images-idx3-ubyte` (magic 0x00000803) or its `.gz`.
pub fn read_idx_images(path: &Path) -> Result<DigitPool, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::file(path, format!("corrupt gzip stream: {e}")))?;
        out
    } else {
        raw
    };
    if bytes.len() < 16 {
        return Err(DataError::file(
            path,
            format!(
                "expected a 16-byte idx3 header, file has {} bytes",
                bytes.len()
            ),
        ));
    }
    let word = |i: usize| {
        u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize
    };
    if word(0) != 0x0803 {
        return Err(DataError::file(
            path,
            format!(
                "expected idx3-ubyte magic 0x00000803, found 0x{:08x}",
                word(0)
            ),
        ));
    }
    let (count, rows, cols) = (word(4), word(8), word(12));
    if rows != cols || rows == 0 {
        return Err(DataError::file(
            path,
            format!("expected square digit images, found {rows}x{cols}"),
        ));
    }
    let need = 16 + count * rows * cols;
    if bytes.len() < need {
        return Err(DataError::file(
            path,
            format!(
                "truncated: header promises {count} images of {rows}x{cols} ({need} bytes), file has {}",
                bytes.len()
            ),
        ));
    }
    let images = bytes[16..need]
        .chunks_exact(rows * cols)
        .map(<[u8]>::to_vec)
        .collect();
    Ok(DigitPool {
        size: rows,
        images,
        source: format!("MNIST digits from {}", path.display()),
        synthetic: false,
    })
}

//! Rain rates and pixel values: the Z-R relation of a radar product.

use serde::{Deserialize, Serialize};

/// `Z = a R^b`, pixel = `(dBZ + offset) / scale`, clipped to [0, 1] where `clip` is set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZrRelation {
    pub a: f64,
    pub b: f64,
    pub offset_dbz: f64,
    pub scale_dbz: f64,
    pub clip: bool,
}

impl ZrRelation {
    /// German radar (DWD): `Z = 256 R^1.42`, `P = clip((dBZ + 10) / 70)`.
    pub const DWD: ZrRelation = ZrRelation {
        a: 256.0,
        b: 1.42,
        offset_dbz: 10.0,
        scale_dbz: 70.0,
        clip: true,
    };
    /// HKO-7 and the authors' fallback for non-radar data: `Z = 58.53 R^1.56`, unclipped.
    pub const HKO: ZrRelation = ZrRelation {
        a: 58.53,
        b: 1.56,
        offset_dbz: 10.0,
        scale_dbz: 70.0,
        clip: false,
    };

    /// The pixel value of a rain rate in mm/h.
    pub fn pixel(&self, rain_mm_h: f64) -> f64 {
        let dbz = 10.0 * (self.a * rain_mm_h.powf(self.b)).log10();
        let p = (dbz + self.offset_dbz) / self.scale_dbz;
        if self.clip { p.clamp(0.0, 1.0) } else { p }
    }

    /// The rain rate in mm/h of a pixel value (inverse of [`ZrRelation::pixel`]).
    pub fn rain_rate(&self, pixel: f64) -> f64 {
        let dbz = pixel * self.scale_dbz - self.offset_dbz;
        (10f64.powf(dbz / 10.0) / self.a).powf(1.0 / self.b)
    }
}


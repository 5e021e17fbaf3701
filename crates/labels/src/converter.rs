//! The label-converter port (`packbench_core::ports::LabelConverter`) over this crate's
//! conversions: any label goes through PNG on its way to another format.

use packbench_core::model::LabelFormat;
use packbench_core::ports::LabelConverter;

use crate::convert;

/// PNG, GIF and ZPL labels to PNG, ZPL or PDF. A PDF label stays a PDF (there is no reading
/// one back into an image here).
pub struct Converter;

impl LabelConverter for Converter {
    fn convert(
        &self,
        have: LabelFormat,
        bytes: &[u8],
        wanted: LabelFormat,
    ) -> Result<Vec<u8>, String> {
        if have == wanted {
            return Ok(bytes.to_vec());
        }
        let unconvertible =
            |e: convert::ConvertError| format!("this label cannot be shown in that format: {e}");
        let png = match have {
            LabelFormat::Png | LabelFormat::Gif => convert::image_to_png(bytes),
            LabelFormat::Zpl => convert::zpl_to_png(&String::from_utf8_lossy(bytes)),
            LabelFormat::Pdf => {
                return Err("this label exists only as a PDF; print it on a laser printer".into());
            }
        }
        .map_err(unconvertible)?;
        match wanted {
            LabelFormat::Png | LabelFormat::Gif => Ok(png),
            LabelFormat::Zpl => convert::png_to_zpl(&png)
                .map(String::into_bytes)
                .map_err(unconvertible),
            LabelFormat::Pdf => convert::png_to_pdf(&png).map_err(unconvertible),
        }
    }
}

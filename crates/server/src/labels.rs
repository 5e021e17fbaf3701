//! Label format conversion for the label endpoints (the conversions themselves are in
//! `packbench-labels`).

use packbench_core::ErrorCode;
use packbench_core::model::LabelFormat;
use packbench_labels::convert;

use crate::error::ApiError;

fn unconvertible(e: convert::ConvertError) -> ApiError {
    ApiError::new(
        ErrorCode::ValidationFailed,
        format!("this label cannot be shown in that format: {e}"),
    )
}

/// `bytes` (a label in `have`) as `wanted`.
pub fn convert(have: LabelFormat, bytes: &[u8], wanted: LabelFormat) -> Result<Vec<u8>, ApiError> {
    if have == wanted {
        return Ok(bytes.to_vec());
    }
    let png = match have {
        LabelFormat::Png | LabelFormat::Gif => convert::image_to_png(bytes),
        LabelFormat::Zpl => convert::zpl_to_png(&String::from_utf8_lossy(bytes)),
        LabelFormat::Pdf => {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                "this label exists only as a PDF; print it on a laser printer",
            ));
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

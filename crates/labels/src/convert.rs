//! Shipping labels in every form a bench needs, whatever the carrier sold (DESIGN.md §6):
//! UPS's landscape GIF turned into a 4x6 portrait PNG; PNG to ZPL (`^GFA`, Z64); a raster ZPL
//! back to a PNG preview; a 4x6 PDF for laser printers. Pure functions: bytes in, bytes out.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, Luma, imageops};
use printpdf::{
    Mm, Op, PdfDocument, PdfPage, PdfSaveOptions, RawImage, RawImageData, RawImageFormat,
    XObjectTransform,
};

use crate::zpl;

/// A 4x6 label at 203 dpi.
pub const LABEL_W: u32 = 812;
pub const LABEL_H: u32 = 1218;
const DPI: f32 = 203.0;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("the label image cannot be read: {0}")]
    Image(#[from] image::ImageError),
    #[error("this ZPL label has no raster graphic (^GFA) to preview: {0}")]
    Zpl(#[from] zpl::Z64Error),
    #[error("the label is empty")]
    Empty,
}

fn png_of(img: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    // Encoding into memory cannot fail for a valid buffer.
    let _ = img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png);
    out
}

/// The smallest box holding every dark pixel.
fn ink_box(img: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in img.enumerate_pixels() {
        if p.0[0] < 128 {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    }
    (x0 != u32::MAX).then(|| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// Any label picture as a 812x1218 portrait: turned upright if it lies landscape (UPS's GIFs
/// lie a quarter turn counter-clockwise), cropped to its ink, scaled down if too big, centred.
pub fn to_portrait(img: &DynamicImage) -> Result<GrayImage, ConvertError> {
    let mut gray = img.to_luma8();
    if gray.width() > gray.height() {
        gray = imageops::rotate90(&gray);
    }
    let (x, y, w, h) = ink_box(&gray).ok_or(ConvertError::Empty)?;
    let mut ink = imageops::crop_imm(&gray, x, y, w, h).to_image();
    if w > LABEL_W || h > LABEL_H {
        let scale = f64::min(
            f64::from(LABEL_W) / f64::from(w),
            f64::from(LABEL_H) / f64::from(h),
        );
        ink = imageops::resize(
            &ink,
            ((f64::from(w) * scale) as u32).max(1),
            ((f64::from(h) * scale) as u32).max(1),
            imageops::FilterType::Triangle,
        );
    }
    let mut page = GrayImage::from_pixel(LABEL_W, LABEL_H, Luma([255]));
    let ox = (LABEL_W - ink.width()) / 2;
    let oy = (LABEL_H - ink.height()) / 2;
    imageops::overlay(&mut page, &ink, i64::from(ox), i64::from(oy));
    Ok(page)
}

/// A GIF or PNG label as a 4x6 portrait PNG.
pub fn image_to_png(bytes: &[u8]) -> Result<Vec<u8>, ConvertError> {
    let img = image::load_from_memory(bytes)?;
    Ok(png_of(&to_portrait(&img)?))
}

/// A ZPL label as a PNG preview: a label that is one raster graphic (`^GFA`, as Packbench
/// and the sim write them) is decoded exactly; any other is drawn from its commands
/// ([`crate::zpl_render`]).
pub fn zpl_to_png(zpl_text: &str) -> Result<Vec<u8>, ConvertError> {
    if !is_one_graphic(zpl_text) {
        let img = crate::zpl_render::render(zpl_text);
        if ink_box(&img).is_none() {
            return Err(ConvertError::Empty);
        }
        return Ok(png_of(&img));
    }
    let bitmap = zpl::parse_graphic_field(zpl_text)?;
    // Rows are padded to whole bytes; the print width (^PW) says how much is label.
    let width = zpl_text
        .find("^PW")
        .and_then(|i| {
            let digits: String = zpl_text[i + 3..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u32>().ok()
        })
        .filter(|w| *w > 0 && *w <= bitmap.width)
        .unwrap_or(bitmap.width);
    let img = GrayImage::from_fn(width, bitmap.height, |x, y| {
        Luma([if bitmap.is_black(x, y) { 0 } else { 255 }])
    });
    Ok(png_of(&img))
}

/// Whether the label is just one `^GFA` graphic (no text, bar code or box commands).
fn is_one_graphic(zpl_text: &str) -> bool {
    zpl_text.matches("^GF").count() == 1
        && !["^A", "^B", "^GB", "^FD", "^FV"]
            .iter()
            .any(|c| zpl_text.contains(c))
}

/// A PNG label as ZPL for a thermal printer.
pub fn png_to_zpl(png: &[u8]) -> Result<String, ConvertError> {
    Ok(zpl::png_label(png)?)
}

/// A PNG label as a one-page 4x6 inch PDF, the image filling the page at 203 dpi.
pub fn png_to_pdf(png: &[u8]) -> Result<Vec<u8>, ConvertError> {
    let img = image::load_from_memory(png)?.to_luma8();
    let (w, h) = img.dimensions();
    let raw = RawImage {
        pixels: RawImageData::U8(img.into_raw()),
        width: w as usize,
        height: h as usize,
        data_format: RawImageFormat::R8,
        tag: Vec::new(),
    };
    let mut doc = PdfDocument::new("Shipping label");
    let id = doc.add_image(&raw);
    let dpi = DPI * w as f32 / LABEL_W as f32;
    let ops = vec![Op::UseXobject {
        id,
        transform: XObjectTransform {
            dpi: Some(dpi),
            ..XObjectTransform::default()
        },
    }];
    let page = PdfPage::new(Mm(101.6), Mm(152.4), ops);
    let mut warnings = Vec::new();
    Ok(doc
        .with_pages(vec![page])
        .save(&PdfSaveOptions::default(), &mut warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GrayImage {
        let mut img = GrayImage::from_pixel(LABEL_W, LABEL_H, Luma([255]));
        for y in 100..300 {
            for x in 50..60 {
                img.put_pixel(x, y, Luma([0]));
            }
        }
        for x in 50..700 {
            img.put_pixel(x, 1100, Luma([0]));
        }
        img
    }

    #[test]
    fn a_landscape_label_comes_back_upright_and_4x6() {
        let upright = sample();
        // Lying as UPS sends it: a quarter turn counter-clockwise, on a wider canvas.
        let lying = imageops::rotate270(&upright);
        let mut canvas = GrayImage::from_pixel(1400, 812, Luma([255]));
        imageops::overlay(&mut canvas, &lying, 0, 0);
        let mut gif = Vec::new();
        DynamicImage::ImageLuma8(canvas)
            .to_rgba8()
            .write_to(&mut Cursor::new(&mut gif), ImageFormat::Gif)
            .unwrap();
        let png = image_to_png(&gif).unwrap();
        let back = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(back.dimensions(), (LABEL_W, LABEL_H));
        assert_eq!(
            ink_box(&back).map(|b| (b.2, b.3)),
            ink_box(&upright).map(|b| (b.2, b.3))
        );
        // The vertical bar is still vertical (not turned sideways) and above the rule.
        let (_, y0, _, _) = ink_box(&back).unwrap();
        let bar_top = (0..LABEL_H).find(|y| back.get_pixel(LABEL_W / 2 - 1, *y).0[0] < 128);
        assert!(
            bar_top.is_some_and(|t| t > y0 + 150),
            "rule is below the bar"
        );
    }

    #[test]
    fn png_to_zpl_and_back_is_lossless_for_a_1_bit_label() {
        let png = png_of(&sample());
        let zpl_text = png_to_zpl(&png).unwrap();
        let back = zpl_to_png(&zpl_text).unwrap();
        let a = image::load_from_memory(&png).unwrap().to_luma8();
        let b = image::load_from_memory(&back).unwrap().to_luma8();
        assert_eq!(ink_box(&a), ink_box(&b));
        assert_eq!(a.get_pixel(55, 200), b.get_pixel(55, 200));
    }

    #[test]
    fn a_pdf_label_is_one_4x6_page() {
        let pdf = png_to_pdf(&png_of(&sample())).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF"));
        // 4 x 6 inches in points.
        assert!(
            text.contains("288") && text.contains("432"),
            "MediaBox 288x432"
        );
    }

    #[test]
    fn zpl_with_commands_is_drawn_and_an_empty_one_is_explained() {
        let png = zpl_to_png("^XA^FO50,50^A0N,30,30^FDhello^FS^XZ").unwrap();
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        assert!(ink_box(&img).is_some_and(|(x, y, _, _)| x >= 50 && y >= 50));
        assert!(matches!(zpl_to_png("^XA^XZ"), Err(ConvertError::Empty)));
    }
}

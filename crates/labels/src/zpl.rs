//! Raster labels for Zebra-class printers: an image becomes a ZPL `^GFA` graphic field in Z64
//! (zlib-deflated bitmap, Base64, CRC-16/XMODEM of the Base64 text), which is about a tenth of
//! the ASCII-hex form and does not stall spoolers (shared/notes/devices.md §D).
//!
//! A 4x6 label at 203 dpi is 812 x 1218 dots; rows are `ceil(width / 8)` bytes, 1 bit = black.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use crc::{CRC_16_XMODEM, Crc};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use image::{DynamicImage, GrayImage};

const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_XMODEM);

/// A 1-bit bitmap, rows padded to whole bytes, most significant bit leftmost, 1 = black.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub bytes_per_row: usize,
    pub bits: Vec<u8>,
}

impl Bitmap {
    /// Thresholds an image: a pixel darker than `threshold` (0-255 luma) prints black.
    pub fn from_image(img: &DynamicImage, threshold: u8) -> Self {
        let gray: GrayImage = img.to_luma8();
        let (width, height) = gray.dimensions();
        let bytes_per_row = (width as usize).div_ceil(8);
        let mut bits = vec![0u8; bytes_per_row * height as usize];
        for (x, y, p) in gray.enumerate_pixels() {
            if p.0[0] < threshold {
                bits[y as usize * bytes_per_row + x as usize / 8] |= 0x80 >> (x % 8);
            }
        }
        Self {
            width,
            height,
            bytes_per_row,
            bits,
        }
    }

    pub fn is_black(&self, x: u32, y: u32) -> bool {
        self.bits[y as usize * self.bytes_per_row + x as usize / 8] & (0x80 >> (x % 8)) != 0
    }
}

/// `:Z64:<base64 of zlib(data)>:<CRC-16/XMODEM of the base64 text, 4 hex digits>`.
pub fn z64_encode(data: &[u8]) -> String {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(data);
    let compressed = z.finish().unwrap_or_default();
    let b64 = B64.encode(compressed);
    let crc = CRC16.checksum(b64.as_bytes());
    format!(":Z64:{b64}:{crc:04X}")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Z64Error {
    #[error("not a :Z64: field")]
    NotZ64,
    #[error("CRC mismatch: the field says {stated:04X}, the data gives {actual:04X}")]
    Crc { stated: u16, actual: u16 },
    #[error("the data is not valid base64 or zlib")]
    Corrupt,
}

/// Decodes a `:Z64:` field, checking its CRC.
pub fn z64_decode(field: &str) -> Result<Vec<u8>, Z64Error> {
    let rest = field.strip_prefix(":Z64:").ok_or(Z64Error::NotZ64)?;
    let (b64, crc) = rest.rsplit_once(':').ok_or(Z64Error::NotZ64)?;
    let stated = u16::from_str_radix(crc, 16).map_err(|_| Z64Error::NotZ64)?;
    let actual = CRC16.checksum(b64.as_bytes());
    if stated != actual {
        return Err(Z64Error::Crc { stated, actual });
    }
    let compressed = B64.decode(b64).map_err(|_| Z64Error::Corrupt)?;
    let mut out = Vec::new();
    ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut out)
        .map_err(|_| Z64Error::Corrupt)?;
    Ok(out)
}

/// A whole ZPL label printing `bitmap` at the top-left corner.
pub fn bitmap_label(bitmap: &Bitmap) -> String {
    let total = bitmap.bits.len();
    format!(
        "^XA^PW{}^LL{}^FO0,0^GFA,{total},{total},{},{}^FS^XZ",
        bitmap.width,
        bitmap.height,
        bitmap.bytes_per_row,
        z64_encode(&bitmap.bits)
    )
}

/// An image (PNG etc.) as a ZPL label.
pub fn image_label(img: &DynamicImage) -> String {
    bitmap_label(&Bitmap::from_image(img, 128))
}

/// A PNG file's bytes as a ZPL label.
pub fn png_label(png: &[u8]) -> Result<String, image::ImageError> {
    Ok(image_label(&image::load_from_memory_with_format(
        png,
        image::ImageFormat::Png,
    )?))
}

/// A PNG label (made for a 203 dpi head) as ZPL for a head of `dpi` dots per inch: at 300 dpi
/// it is scaled up so the label keeps its size.
pub fn png_label_at(png: &[u8], dpi: u16) -> Result<String, image::ImageError> {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)?;
    if dpi <= 203 {
        return Ok(image_label(&img));
    }
    let scale = f64::from(dpi) / 203.0;
    let (w, h) = (
        (f64::from(img.width()) * scale).round() as u32,
        (f64::from(img.height()) * scale).round() as u32,
    );
    Ok(image_label(&img.resize_exact(
        w,
        h,
        image::imageops::FilterType::Nearest,
    )))
}

/// Fits a ZPL label to the printer: darkness (`~SD`, 0-30) when the station sets one, and at
/// 300 dpi the printer told to scale the 203-dpi coordinates (`^MUD,200,300` after each
/// `^XA`) so the label keeps its size.
pub fn fit_label(zpl: &str, dpi: u16, darkness: Option<u8>) -> String {
    let mut out = String::with_capacity(zpl.len() + 32);
    if let Some(d) = darkness {
        out.push_str(&format!("~SD{:02}", d.min(30)));
    }
    if dpi >= 300 {
        out.push_str(&zpl.replace("^XA", "^XA^MUD,200,300"));
    } else {
        out.push_str(zpl);
    }
    out
}

/// Finds the first `^GFA` field of a ZPL label and decodes it back to a bitmap.
pub fn parse_graphic_field(zpl: &str) -> Result<Bitmap, Z64Error> {
    let start = zpl.find("^GFA,").ok_or(Z64Error::NotZ64)? + 5;
    let body = &zpl[start..];
    let end = body.find('^').unwrap_or(body.len());
    let mut parts = body[..end].splitn(4, ',');
    let total: usize = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or(Z64Error::NotZ64)?;
    let _field: usize = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or(Z64Error::NotZ64)?;
    let bytes_per_row: usize = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or(Z64Error::NotZ64)?;
    let bits = z64_decode(parts.next().ok_or(Z64Error::NotZ64)?)?;
    if bits.len() != total || bytes_per_row == 0 || !total.is_multiple_of(bytes_per_row) {
        return Err(Z64Error::Corrupt);
    }
    Ok(Bitmap {
        width: (bytes_per_row * 8) as u32,
        height: (total / bytes_per_row) as u32,
        bytes_per_row,
        bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, RgbaImage};

    proptest::proptest! {
        /// Any label text (a carrier's, or damaged on the way) is read or refused, never a
        /// panic: built from ZPL's own commands and fields, and any text at all.
        #[test]
        fn no_label_text_panics(
            zpl in "(\\^GFA,[0-9,]{0,12}(:Z64:|:B64:)?[A-Za-z0-9+/=:,]{0,40}|\\^XA|\\^XZ|\\^FO[0-9,]{0,8}|\\PC{0,12}){0,6}",
            any_text in "\\PC{0,60}",
        ) {
            for text in [zpl, any_text] {
                let _ = parse_graphic_field(&text);
                let _ = z64_decode(&text);
                let _ = fit_label(&text, 300, Some(40));
            }
        }
    }

    #[test]
    fn the_crc_is_crc16_xmodem() {
        assert_eq!(
            CRC16.checksum(b"123456789"),
            0x31C3,
            "the CRC catalogue's check value"
        );
    }

    #[test]
    fn z64_round_trips_and_a_damaged_field_is_refused() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let field = z64_encode(&data);
        assert!(field.starts_with(":Z64:"));
        assert_eq!(z64_decode(&field).unwrap(), data);
        let damaged = field.replacen('A', "B", 1);
        assert!(matches!(
            z64_decode(&damaged),
            Err(Z64Error::Crc { .. }) | Err(Z64Error::Corrupt)
        ));
        assert_eq!(z64_decode("^GFA"), Err(Z64Error::NotZ64));
    }

    #[test]
    fn a_4x6_label_image_becomes_a_graphic_field_that_decodes_to_the_same_dots() {
        // 812 x 1218 dots: white, with a black bar and a black corner dot.
        let mut img = GrayImage::from_pixel(812, 1218, Luma([255]));
        for x in 100..700 {
            for y in 200..260 {
                img.put_pixel(x, y, Luma([0]));
            }
        }
        img.put_pixel(811, 1217, Luma([10]));
        let zpl = image_label(&DynamicImage::ImageLuma8(img));
        assert!(
            zpl.starts_with("^XA^PW812^LL1218^FO0,0^GFA,124236,124236,102,:Z64:"),
            "{}",
            &zpl[..60]
        );
        assert!(
            zpl.len() < 10_000,
            "Z64 keeps a mostly white label small ({} bytes)",
            zpl.len()
        );
        let back = parse_graphic_field(&zpl).unwrap();
        assert_eq!((back.bytes_per_row, back.height), (102, 1218));
        assert!(back.is_black(100, 200) && back.is_black(699, 259) && back.is_black(811, 1217));
        assert!(!back.is_black(99, 200) && !back.is_black(700, 230) && !back.is_black(0, 0));
    }

    #[test]
    fn transparent_and_coloured_pixels_threshold_by_lightness() {
        let mut img = RgbaImage::from_pixel(9, 1, image::Rgba([255, 255, 255, 255]));
        img.put_pixel(0, 0, image::Rgba([200, 0, 0, 255])); // dark red: black
        img.put_pixel(8, 0, image::Rgba([0, 0, 0, 255])); // black, in the second byte
        let b = Bitmap::from_image(&DynamicImage::ImageRgba8(img), 128);
        assert_eq!(b.bytes_per_row, 2);
        assert_eq!(b.bits, vec![0x80, 0x80]);
    }

    #[test]
    fn labels_fit_the_printer_darkness_and_dpi() {
        assert_eq!(fit_label("^XA^FDx^FS^XZ", 203, None), "^XA^FDx^FS^XZ");
        assert_eq!(
            fit_label("^XA^FDx^FS^XZ^XA^XZ", 300, Some(25)),
            "~SD25^XA^MUD,200,300^FDx^FS^XZ^XA^MUD,200,300^XZ"
        );
        assert!(fit_label("^XA^XZ", 203, Some(99)).starts_with("~SD30"));
        let mut img = image::GrayImage::from_pixel(812, 1218, image::Luma([255]));
        img.put_pixel(10, 10, image::Luma([0]));
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let at300 = png_label_at(&png, 300).unwrap();
        assert!(at300.contains("^PW1200"), "{}", &at300[..40]);
        assert!(png_label_at(&png, 203).unwrap().contains("^PW812"));
    }
}

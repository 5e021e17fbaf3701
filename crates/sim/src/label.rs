//! SAMPLE labels as the sim issues them: a 4x6 portrait raster at 203 dpi (812x1218 dots) with
//! the ship-to, the service, the tracking number in words and as a Code 128 bar code, and
//! "SAMPLE" across it. UPS's own formats are produced from it: ZPL (the raster as a Z64 `^GFA`
//! field) and GIF (landscape 1400x800, the label lying rotated as UPS sends it).

use std::io::Cursor;

use barcoders::sym::code128::Code128;
use image::{DynamicImage, GrayImage, Luma};

pub const WIDTH: u32 = 812;
pub const HEIGHT: u32 = 1218;
const BLACK: Luma<u8> = Luma([0]);

pub struct LabelText<'a> {
    pub tracking_number: &'a str,
    pub service: &'a str,
    pub ship_to: Vec<String>,
    pub shipper: Vec<String>,
    pub references: Vec<String>,
    pub weight: &'a str,
}

fn text(img: &mut GrayImage, x: u32, y: u32, scale: u32, s: &str) {
    let mut cx = x;
    for ch in s.chars() {
        let glyph = font8x8::legacy::BASIC_LEGACY
            .get(ch as usize)
            .copied()
            .unwrap_or([0; 8]);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                if bits & (1 << col) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let px = cx + col * scale + dx;
                            let py = y + row as u32 * scale + dy;
                            if px < img.width() && py < img.height() {
                                img.put_pixel(px, py, BLACK);
                            }
                        }
                    }
                }
            }
        }
        cx += 8 * scale;
    }
}

fn rect(img: &mut GrayImage, x: u32, y: u32, w: u32, h: u32) {
    for py in y..(y + h).min(img.height()) {
        for px in x..(x + w).min(img.width()) {
            img.put_pixel(px, py, BLACK);
        }
    }
}

/// Draws a Code 128 (set B) bar code; answers its width.
fn code128(img: &mut GrayImage, x: u32, y: u32, module: u32, height: u32, data: &str) -> u32 {
    let bars = Code128::new(format!("Ɓ{data}"))
        .map(|c| c.encode())
        .unwrap_or_default();
    for (i, b) in bars.iter().enumerate() {
        if *b == 1 {
            rect(img, x + i as u32 * module, y, module, height);
        }
    }
    bars.len() as u32 * module
}

/// "1Z 999 AA1 01 2345 6784", as UPS prints it.
pub fn spaced(n: &str) -> String {
    if n.len() != 18 {
        return n.to_string();
    }
    format!(
        "{} {} {} {} {} {}",
        &n[0..2],
        &n[2..5],
        &n[5..8],
        &n[8..10],
        &n[10..14],
        &n[14..18]
    )
}

pub fn render(l: &LabelText<'_>) -> GrayImage {
    let mut img = GrayImage::from_pixel(WIDTH, HEIGHT, Luma([255]));
    let mut y = 20;
    for line in &l.shipper {
        let line: String = line.chars().take(32).collect();
        text(&mut img, 20, y, 2, &line);
        y += 20;
    }
    text(&mut img, 560, 20, 3, l.weight);
    y = y.max(120) + 20;
    text(&mut img, 20, y, 3, "SHIP TO:");
    y += 34;
    for line in &l.ship_to {
        let line: String = line.chars().take(31).collect();
        text(&mut img, 60, y, 3, &line);
        y += 30;
    }
    rect(&mut img, 0, 420, WIDTH, 4);
    text(&mut img, 20, 450, 4, l.service);
    text(
        &mut img,
        20,
        500,
        3,
        &format!("TRACKING #: {}", spaced(l.tracking_number)),
    );
    rect(&mut img, 0, 540, WIDTH, 4);
    // Quiet zone of 10 modules either side; centred.
    let module = 3;
    let bars_width = (l.tracking_number.len() as u32 + 3) * 11 * module + 2 * module;
    let x = WIDTH.saturating_sub(bars_width) / 2;
    code128(&mut img, x, 580, module, 200, l.tracking_number);
    rect(&mut img, 0, 820, WIDTH, 4);
    text(&mut img, 20, 850, 2, "BILLING: P/P");
    let mut ry = 880;
    for r in &l.references {
        text(&mut img, 20, ry, 2, &format!("REF: {r}"));
        ry += 22;
    }
    // SAMPLE: these labels are never valid for shipping.
    text(&mut img, 130, 1000, 9, "SAMPLE");
    text(
        &mut img,
        20,
        1170,
        2,
        "PACKBENCH UPS SIM - NOT A REAL LABEL",
    );
    img
}

pub fn zpl(img: &GrayImage) -> String {
    packbench_labels::zpl::image_label(&DynamicImage::ImageLuma8(img.clone()))
}

/// The label lying rotated (a quarter turn counter-clockwise) on a blank landscape canvas
/// 1400 wide, as UPS's GIFs come (UPS's are 1400x800 at a slightly lower resolution).
pub fn gif(img: &GrayImage) -> Vec<u8> {
    let rotated = image::imageops::rotate270(img);
    let mut canvas = GrayImage::from_pixel(1400, HEIGHT.min(WIDTH), Luma([255]));
    image::imageops::overlay(&mut canvas, &rotated, 0, 0);
    let mut out = Vec::new();
    DynamicImage::ImageLuma8(canvas)
        .to_rgba8()
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Gif)
        .map(|_| out)
        .unwrap_or_default()
}

pub fn png(img: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map(|_| out)
        .unwrap_or_default()
}

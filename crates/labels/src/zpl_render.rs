//! A screen preview of a ZPL label written with ZPL's own commands (as UPS's ZPL labels are):
//! text (`^A`), Code 128 (`^BC`), boxes and rules (`^GB`), raster graphics (`^GFA`), at field
//! origins (`^FO`, `^FT`) from the label home (`^LH`). Fonts are approximated with an 8x8
//! bitmap font scaled to the asked size; 2-D codes ZPL draws itself (MaxiCode `^BD`, PDF417
//! `^B7`, QR `^BQ`, Data Matrix `^BX`) are shown as a marked box. It is a preview: the printer
//! still gets the ZPL as UPS sent it.

use barcoders::sym::code128::Code128;
use image::{GrayImage, Luma};

use crate::zpl;

const BLACK: Luma<u8> = Luma([0]);

#[derive(Debug, Clone, Copy)]
enum Field {
    Text { height: u32, width: u32 },
    Code128 { height: u32 },
    TwoD { size: u32 },
}

struct State {
    home: (i64, i64),
    origin: (i64, i64),
    /// `^FT` positions the baseline, not the top.
    baseline: bool,
    font: (u32, u32),
    module: u32,
    bar_height: u32,
    field: Option<Field>,
    hex_escape: Option<char>,
    reverse: bool,
}

/// A command's numbers, each held to ZPL's own range (0-32000 dots, and signs seen in the
/// wild): a label asking for more draws at the edge instead of overflowing the sums.
fn nums(args: &str) -> Vec<Option<i64>> {
    args.split(',')
        .map(|a| {
            a.trim()
                .parse::<i64>()
                .ok()
                .map(|n| n.clamp(-32_000, 32_000))
        })
        .collect()
}

fn arg(v: &[Option<i64>], i: usize, default: i64) -> i64 {
    v.get(i).copied().flatten().unwrap_or(default)
}

fn fill(img: &mut GrayImage, x: i64, y: i64, w: i64, h: i64, reverse: bool) {
    let (x0, y0) = (x.max(0), y.max(0));
    let x1 = (x + w).min(i64::from(img.width()));
    let y1 = (y + h).min(i64::from(img.height()));
    for py in y0..y1 {
        for px in x0..x1 {
            let (px, py) = (px as u32, py as u32);
            if reverse {
                let v = img.get_pixel(px, py).0[0];
                img.put_pixel(px, py, Luma([255 - v]));
            } else {
                img.put_pixel(px, py, BLACK);
            }
        }
    }
}

fn text(img: &mut GrayImage, x: i64, y: i64, height: u32, width: u32, s: &str, reverse: bool) {
    // Font 0 is proportional: letters take about 60 % of the asked width and 75 % of the
    // height (the rest is spacing), so the 8x8 glyphs are scaled to that.
    let sx = (f64::from(width.max(4)) * 0.6) / 8.0;
    let sy = (f64::from(height.max(4)) * 0.75) / 8.0;
    let advance = (8.0 * sx).round().max(1.0) as i64;
    for (i, ch) in s.chars().enumerate() {
        let glyph = font8x8::legacy::BASIC_LEGACY
            .get(ch as usize)
            .copied()
            .unwrap_or([0; 8]);
        let cx = x + i as i64 * advance;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    let px = cx + (f64::from(col) * sx).round() as i64;
                    let py = y + (row as f64 * sy).round() as i64;
                    fill(img, px, py, sx.ceil() as i64, sy.ceil() as i64, reverse);
                }
            }
        }
    }
}

fn code128(img: &mut GrayImage, x: i64, y: i64, module: u32, height: u32, data: &str) {
    // Auto mode: digits-only data in subset C, anything else in B.
    let digits = !data.is_empty()
        && data.len().is_multiple_of(2)
        && data.bytes().all(|b| b.is_ascii_digit());
    let prefixed = if digits {
        format!("Ć{data}")
    } else {
        format!("Ɓ{data}")
    };
    let Ok(bars) = Code128::new(prefixed).map(|c| c.encode()) else {
        return;
    };
    for (i, b) in bars.iter().enumerate() {
        if *b == 1 {
            let px = x + (i as u32 * module) as i64;
            fill(img, px, y, i64::from(module), i64::from(height), false);
        }
    }
}

/// `_1E`-style escapes of a field after `^FH`.
fn unescape(data: &str, escape: char) -> String {
    let mut out = String::new();
    let mut chars = data.chars().peekable();
    while let Some(c) = chars.next() {
        if c == escape {
            let hex: String = chars.by_ref().take(2).collect();
            if let Ok(b) = u8::from_str_radix(&hex, 16) {
                out.push(char::from(b));
                continue;
            }
            out.push(c);
            out.push_str(&hex);
        } else {
            out.push(c);
        }
    }
    out
}

fn draw_field(img: &mut GrayImage, st: &State, data: &str) {
    let (x, mut y) = (st.home.0 + st.origin.0, st.home.1 + st.origin.1);
    let data = match st.hex_escape {
        Some(e) => unescape(data, e),
        None => data.to_string(),
    };
    match st.field.unwrap_or(Field::Text {
        height: st.font.0,
        width: st.font.1,
    }) {
        Field::Text { height, width } => {
            if st.baseline {
                y -= i64::from(height);
            }
            text(img, x, y, height, width, &data, st.reverse);
        }
        Field::Code128 { height } => {
            if st.baseline {
                y -= i64::from(height);
            }
            code128(img, x, y, st.module, height, &data);
        }
        Field::TwoD { size } => {
            let s = i64::from(size);
            fill(img, x, y, s, 3, false);
            fill(img, x, y + s - 3, s, 3, false);
            fill(img, x, y, 3, s, false);
            fill(img, x + s - 3, y, 3, s, false);
            fill(img, x, y, s, s / 8, false);
        }
    }
}

/// Renders a ZPL label (the first `^XA`…`^XZ`) to an image of its print width and length.
pub fn render(zpl_text: &str) -> GrayImage {
    let width = find_num(zpl_text, "^PW").unwrap_or(812).clamp(8, 4000) as u32;
    let length = find_num(zpl_text, "^LL").unwrap_or(1218).clamp(8, 8000) as u32;
    let mut img = GrayImage::from_pixel(width, length, Luma([255]));
    let mut st = State {
        home: (0, 0),
        origin: (0, 0),
        baseline: false,
        font: (30, 30),
        module: 2,
        bar_height: 100,
        field: None,
        hex_escape: None,
        reverse: false,
    };
    let body = zpl_text
        .split_once("^XZ")
        .map(|(b, _)| b)
        .unwrap_or(zpl_text);
    for raw in body.split('^').skip(1) {
        let cmd = raw.trim_end_matches(['\r', '\n']);
        // The command is two characters (not bytes: a damaged label may hold any text).
        let cut = cmd.char_indices().nth(2).map_or(cmd.len(), |(i, _)| i);
        let (name, args) = cmd.split_at(cut);
        let name = name.to_ascii_uppercase();
        match name.as_str() {
            "LH" => {
                let v = nums(args);
                st.home = (arg(&v, 0, 0), arg(&v, 1, 0));
            }
            "FO" | "FT" => {
                let v = nums(args);
                st.origin = (arg(&v, 0, 0), arg(&v, 1, 0));
                st.baseline = name == "FT";
            }
            "CF" => {
                let v = nums(args.get(1..).unwrap_or(""));
                let h = arg(&v, 1, i64::from(st.font.0)).max(1) as u32;
                st.font = (h, arg(&v, 2, i64::from(h)).max(1) as u32);
            }
            "BY" => {
                let v = nums(args);
                st.module = arg(&v, 0, 2).clamp(1, 10) as u32;
                st.bar_height = arg(&v, 2, i64::from(st.bar_height)).max(1) as u32;
            }
            "FH" => st.hex_escape = Some(args.chars().next().unwrap_or('_')),
            "FR" => st.reverse = true,
            "BC" => {
                let v = nums(args.get(1..).unwrap_or(""));
                let h = arg(&v, 1, i64::from(st.bar_height)).max(1) as u32;
                st.field = Some(Field::Code128 { height: h });
            }
            "BD" | "B7" | "BQ" | "BX" => st.field = Some(Field::TwoD { size: 230 }),
            "GB" => {
                let v = nums(args);
                let (w, h) = (arg(&v, 0, 1).max(1), arg(&v, 1, 1).max(1));
                let t = arg(&v, 2, 1).max(1);
                let (x, y) = (st.home.0 + st.origin.0, st.home.1 + st.origin.1);
                if t >= w.min(h) {
                    fill(&mut img, x, y, w, h, st.reverse);
                } else {
                    fill(&mut img, x, y, w, t, st.reverse);
                    fill(&mut img, x, y + h - t, w, t, st.reverse);
                    fill(&mut img, x, y, t, h, st.reverse);
                    fill(&mut img, x + w - t, y, t, h, st.reverse);
                }
            }
            "GF" => {
                if let Ok(bitmap) = zpl::parse_graphic_field(&format!("^{cmd}")) {
                    let (x0, y0) = (st.home.0 + st.origin.0, st.home.1 + st.origin.1);
                    for y in 0..bitmap.height {
                        for x in 0..bitmap.width {
                            if bitmap.is_black(x, y) {
                                fill(&mut img, x0 + i64::from(x), y0 + i64::from(y), 1, 1, false);
                            }
                        }
                    }
                }
            }
            "FD" | "FV" => draw_field(&mut img, &st, args),
            "FS" => {
                st.field = None;
                st.hex_escape = None;
                st.reverse = false;
            }
            _ if name.starts_with('A') => {
                // ^A0N,h,w (or ^A@...): the next field's font.
                let v = nums(args.get(1..).unwrap_or(""));
                let h = arg(&v, 0, i64::from(st.font.0)).max(1) as u32;
                let w = arg(&v, 1, i64::from(h)).max(1) as u32;
                st.field = Some(Field::Text {
                    height: h,
                    width: w,
                });
            }
            _ => {}
        }
    }
    img
}

fn find_num(zpl_text: &str, cmd: &str) -> Option<i64> {
    let i = zpl_text.find(cmd)? + cmd.len();
    let digits: String = zpl_text[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any label text renders to some picture, never a panic (the preview of a label a
        /// carrier sent). Each case draws a whole label, so fewer run than for the parsers.
        #[test]
        fn no_label_text_makes_the_preview_panic(
            zpl in "(\\^XA|\\^XZ|\\^PW-?[0-9]{0,5}|\\^LL-?[0-9]{0,5}|\\^(FO|FT|LH)[-0-9,]{0,24}|\\^A0[NR],[-0-9,]{0,24}|\\^B[3C][NR,0-9YN]{0,8}|\\^BY[-0-9,.]{0,24}|\\^GB[-0-9,BW]{0,40}|\\^FD[\\PC]{0,12}|\\^FS|\\^FH_?|\\^FR|\\^GFA,[0-9,]{0,12}[A-Za-z0-9:]{0,20}|\\^\\PC{0,3}|\\PC{0,8}){0,10}",
        ) {
            let img = render(&zpl);
            proptest::prop_assert!(img.width() >= 8 && img.height() >= 8);
        }
    }

    #[test]
    fn boxes_text_and_bars_land_where_the_label_says() {
        let img = render(
            "^XA^PW400^LL300^LH10,10^FO0,0^GB100,50,50^FS^FO200,100^A0N,40,40^FDHI^FS^FO0,200^BY2^BCN,60,N,N,N,A^FD12345678^FS^XZ",
        );
        assert_eq!(img.dimensions(), (400, 300));
        assert_eq!(
            img.get_pixel(50, 30).0[0],
            0,
            "the filled box, moved by ^LH"
        );
        assert_eq!(img.get_pixel(5, 5).0[0], 255, "nothing left of the home");
        let ink_in = |x0: u32, y0: u32, x1: u32, y1: u32| {
            (y0..y1).any(|y| (x0..x1).any(|x| img.get_pixel(x, y).0[0] == 0))
        };
        assert!(ink_in(210, 110, 300, 150), "the text");
        assert!(ink_in(10, 210, 200, 270), "the bar code");
        assert!(!ink_in(300, 200, 400, 300), "blank elsewhere");
    }

    #[test]
    fn hex_escapes_are_decoded() {
        assert_eq!(unescape("A_1EB_41", '_'), "A\u{1e}BA");
    }
}

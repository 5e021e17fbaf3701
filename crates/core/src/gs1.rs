//! GS1 element strings, as GS1-128 and GS1 DataMatrix scanners send them: the GTIN of a
//! product inside a case or pallet label, e.g. `]C1` + `0100012345678905` + `10LOT42`.
//!
//! Accepted forms: with or without an AIM symbology prefix (`]C1`, `]d2`, `]Q3`, `]e0`), with
//! variable-length fields ended by GS (0x1D) or the end, or the human-readable form with
//! parentheses `(01)00012345678905(10)LOT42`.

use crate::domain::{Gtin, ParseError};

const GS: char = '\u{1d}';

/// Fixed lengths of the data after two-digit AIs (GS1 General Specifications, 3.2).
fn fixed_len(ai: &str) -> Option<usize> {
    match ai {
        "00" => Some(18),
        "01" | "02" => Some(14),
        "11" | "12" | "13" | "15" | "16" | "17" => Some(6),
        "20" => Some(2),
        "402" => Some(17),
        "410" | "411" | "412" | "413" | "414" | "415" | "416" | "417" => Some(13),
        // Measures (31xx-36xx): six digits.
        m if m.len() == 4 && ("31".."37").contains(&&m[..2]) => Some(6),
        _ => None,
    }
}

/// The AI of a field starting here. Its length follows from its first two digits (GS1 General
/// Specifications, the table of AI lengths by prefix): (01), (240), (3103), (8020)...
fn ai_at(s: &str) -> Option<&str> {
    let two = s.get(..2)?;
    if !two.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len = match two {
        "23" | "24" | "25" | "40" | "41" | "42" | "71" => 3,
        "31" | "32" | "33" | "34" | "35" | "36" | "39" | "43" | "70" | "72" | "80" | "81"
        | "82" => 4,
        _ => 2,
    };
    let ai = s.get(..len)?;
    ai.bytes().all(|b| b.is_ascii_digit()).then_some(ai)
}

/// Splits an element string into (AI, value) pairs.
pub fn parse(raw: &str) -> Result<Vec<(String, String)>, ParseError> {
    let err = |m: &str| ParseError::new("barcode", format!("not a GS1 element string: {m}"));
    let mut s = raw.trim();
    if let Some(prefixed) = s.strip_prefix(']') {
        // An AIM symbology identifier: `]`, a letter, a digit.
        match prefixed.as_bytes() {
            [code, modifier, ..]
                if code.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric() =>
            {
                s = &prefixed[2..];
            }
            _ => return Err(err("a symbology prefix is `]`, a letter and a digit (]C1)")),
        }
    }
    if s.starts_with('(') {
        let mut out = Vec::new();
        for part in s.split('(').skip(1) {
            let (ai, value) = part.split_once(')').ok_or_else(|| err("unclosed ("))?;
            if ai.is_empty() || !ai.bytes().all(|b| b.is_ascii_digit()) || value.is_empty() {
                return Err(err("bad (AI)"));
            }
            out.push((ai.to_owned(), value.to_owned()));
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    let mut rest = s.trim_start_matches(GS);
    while !rest.is_empty() {
        let ai = ai_at(rest).ok_or_else(|| err("expected an application identifier"))?;
        let after = &rest[ai.len()..];
        let len = match fixed_len(ai) {
            Some(n) => n,
            None => after.find(GS).unwrap_or(after.len()).min(30),
        };
        let value = after
            .get(..len)
            .ok_or_else(|| err("a field is cut short"))?;
        if value.is_empty() {
            return Err(err("empty field"));
        }
        out.push((ai.to_owned(), value.to_owned()));
        rest = after[len..].trim_start_matches(GS);
    }
    if out.is_empty() {
        return Err(err("empty"));
    }
    Ok(out)
}

/// The product a scan names: a plain product code, or the GTIN (AI 01 or 02) of a GS1 string.
pub fn product_code(raw: &str) -> Option<Gtin> {
    let plain = raw
        .trim()
        .trim_start_matches("]E0")
        .trim_start_matches("]C0");
    if let Ok(g) = Gtin::parse(plain) {
        return Some(g);
    }
    parse(raw)
        .ok()?
        .into_iter()
        .find(|(ai, _)| ai == "01" || ai == "02")
        .and_then(|(_, v)| Gtin::parse(&v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any scan is read or refused, never a panic: built from the characters the reader
        /// looks at, and any text at all.
        #[test]
        fn no_scan_panics(
            raw in "[\\]()0-9A-Za-z\u{1d}€é ]{0,40}",
            any_text in "\\PC{0,40}",
        ) {
            for scan in [raw, any_text] {
                let _ = parse(&scan);
                let _ = product_code(&scan);
            }
        }
    }

    #[test]
    fn a_symbology_prefix_cut_inside_a_character_is_refused() {
        assert!(parse("]€x").is_err());
        assert!(parse("]C").is_err());
        assert_eq!(parse("]C10100012345678905").unwrap().len(), 1);
    }

    #[test]
    fn three_and_four_digit_ais_are_read_whole() {
        let raw = "\u{1d}0109501101530003\u{1d}240PART-7\u{1d}4101234567890128\u{1d}3103001250\u{1d}8020REF42";
        let fields = parse(raw).unwrap();
        let ais: Vec<&str> = fields.iter().map(|(ai, _)| ai.as_str()).collect();
        assert_eq!(ais, ["01", "240", "410", "3103", "8020"]);
        assert_eq!(fields[2].1, "1234567890128");
        assert_eq!(fields[3].1, "001250");
        assert_eq!(product_code(raw).unwrap().as_str(), "09501101530003");
    }

    #[test]
    fn a_gs1_128_case_label_yields_its_gtin() {
        let want = Gtin::parse("012345678905").unwrap();
        for scan in [
            "]C10100012345678905",
            "0100012345678905\u{1d}10LOT42\u{1d}17261231",
            "]C1010001234567890510LOT42\u{1d}21SERIAL7",
            "(01)00012345678905(10)LOT42",
            "]d20100012345678905",
            "3103000150010001234567890510A",
        ] {
            assert_eq!(product_code(scan), Some(want.clone()), "{scan:?}");
        }
        let fields = parse("0100012345678905\u{1d}10LOT42\u{1d}17261231").unwrap();
        assert_eq!(fields[1], ("10".into(), "LOT42".into()));
        assert_eq!(fields[2], ("17".into(), "261231".into()));
    }

    #[test]
    fn plain_codes_and_garbage() {
        assert_eq!(
            product_code("]E00012345678905").unwrap().as_str(),
            "00012345678905"
        );
        assert_eq!(product_code("PROD-001"), None);
        assert_eq!(product_code("01123"), None, "cut short");
        assert!(parse("(01").is_err());
        assert!(parse("").is_err());
    }
}

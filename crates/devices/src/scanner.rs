//! Barcode scanners that are not keyboards: HID POS scanners (usage page 0x8C) and scanners in
//! serial (USB CDC) mode. Sans-IO: reports or bytes in, scans with their symbology out. Codes
//! are normalised by `packbench_core::gs1` (UPC-A / EAN-13 / GTIN-14, GS1-128 element strings).
//!
//! HID POS scanned-data report (Honeywell's layout; the report id, 0x02, may or may not lead
//! the buffer): byte 0 the number of data bytes in this packet, bytes 1-3 the AIM symbology
//! identifier (`]E0`...), data from byte 4, and byte 62 non-zero when more packets follow.

use packbench_core::domain::Gtin;
use serde::Serialize;

/// The report id of a HID POS scanned-data report.
pub const SCANNED_DATA_REPORT: u8 = 0x02;
const DATA_AT: usize = 4;
const MORE_AT: usize = 62;
/// Data bytes a packet can carry (bytes 4..60; 60-61 hold the maker's code id).
const DATA_MAX: usize = 56;
/// The longest scan kept: a GS1 DataMatrix can hold ~2 KB; beyond that it is noise.
const SCAN_MAX: usize = 4096;

/// What kind of barcode was read, from its AIM identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Symbology {
    /// UPC-A and EAN-13 (`]E0`).
    Ean13,
    /// EAN-8 (`]E4`).
    Ean8,
    Code128,
    /// Code 128 with FNC1 first (`]C1`): GS1 element strings.
    Gs1_128,
    Code39,
    Interleaved2of5,
    Gs1DataBar,
    DataMatrix,
    /// DataMatrix with FNC1 (`]d2`): GS1 element strings.
    Gs1DataMatrix,
    Qr,
    Pdf417,
    Aztec,
    /// An identifier this table does not know (kept as read).
    Other(String),
}

impl Symbology {
    pub fn from_aim(aim: &str) -> Self {
        let mut c = aim.strip_prefix(']').unwrap_or(aim).chars();
        match (c.next(), c.next()) {
            (Some('E'), Some('4')) => Self::Ean8,
            (Some('E'), _) => Self::Ean13,
            (Some('C'), Some('1')) => Self::Gs1_128,
            (Some('C'), _) => Self::Code128,
            (Some('A'), _) => Self::Code39,
            (Some('I'), _) => Self::Interleaved2of5,
            (Some('e'), _) => Self::Gs1DataBar,
            (Some('d'), Some('2')) => Self::Gs1DataMatrix,
            (Some('d'), _) => Self::DataMatrix,
            (Some('Q'), _) => Self::Qr,
            (Some('L'), _) => Self::Pdf417,
            (Some('z'), _) => Self::Aztec,
            _ => Self::Other(aim.to_owned()),
        }
    }
}

/// One scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scan {
    pub symbology: Symbology,
    /// The AIM identifier as sent (`]E0`), when the scanner sent one.
    pub aim: Option<String>,
    /// The data as read (GS1 separators kept as ASCII 29).
    pub data: String,
}

impl Scan {
    /// The product code it carries, normalised to a GTIN: the GTIN of a GS1 element string's
    /// (01), or a UPC-A / EAN-13 / GTIN-14 read as such.
    pub fn product_code(&self) -> Option<Gtin> {
        packbench_core::gs1::product_code(&self.data)
    }
}

/// Joins HID POS scanned-data packets into scans.
#[derive(Debug, Default)]
pub struct HidScanner {
    numbered: bool,
    aim: Option<String>,
    data: Vec<u8>,
}

impl HidScanner {
    /// `numbered`: the device's reports start with a report id (its report descriptor declares
    /// report ids; see [`crate::hid::Application::report_ids`]).
    pub fn new(numbered: bool) -> Self {
        Self {
            numbered,
            ..Self::default()
        }
    }

    /// Feeds one input report; answers a scan when its last packet came. Reports that are not
    /// scanned data (other report ids, empty packets) are ignored.
    pub fn report(&mut self, report: &[u8]) -> Option<Scan> {
        let packet = if self.numbered {
            match report.split_first() {
                Some((&SCANNED_DATA_REPORT, rest)) => rest,
                _ => return None,
            }
        } else {
            report
        };
        let len = usize::from(*packet.first()?).min(DATA_MAX);
        let aim = packet.get(1..DATA_AT).map(|a| {
            a.iter()
                .take_while(|b| **b != 0)
                .map(|b| *b as char)
                .collect::<String>()
        });
        let data = packet
            .get(DATA_AT..(DATA_AT + len).min(packet.len()))
            .unwrap_or(&[]);
        if self.data.is_empty() && self.aim.is_none() {
            self.aim = aim.filter(|a| a.starts_with(']'));
        }
        if self.data.len() + data.len() <= SCAN_MAX {
            self.data.extend_from_slice(data);
        }
        let more = packet.get(MORE_AT).is_some_and(|b| *b != 0);
        if more {
            return None;
        }
        let data = std::mem::take(&mut self.data);
        let aim = self.aim.take();
        if data.is_empty() {
            return None;
        }
        Some(Scan {
            symbology: aim
                .as_deref()
                .map_or(Symbology::Other(String::new()), Symbology::from_aim),
            aim,
            data: String::from_utf8_lossy(&data).into_owned(),
        })
    }
}

/// Splits what a serial-mode scanner sends into scans: one per line (CR, LF or CR LF), with an
/// AIM identifier in front when the scanner is set to send one.
#[derive(Debug, Default)]
pub struct SerialScanner {
    line: Vec<u8>,
}

impl SerialScanner {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> Vec<Scan> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                let line = std::mem::take(&mut self.line);
                if let Some(scan) = Self::scan(&line) {
                    out.push(scan);
                }
            } else if self.line.len() < SCAN_MAX {
                self.line.push(b);
            }
        }
        out
    }

    fn scan(line: &[u8]) -> Option<Scan> {
        let text = String::from_utf8_lossy(line).trim().to_owned();
        if text.is_empty() {
            return None;
        }
        if text.starts_with(']') && text.len() > 3 && text.is_char_boundary(3) {
            let (aim, data) = text.split_at(3);
            return Some(Scan {
                symbology: Symbology::from_aim(aim),
                aim: Some(aim.to_owned()),
                data: data.to_owned(),
            });
        }
        Some(Scan {
            symbology: Symbology::Other(String::new()),
            aim: None,
            data: text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-byte HID POS report: id 2, length, AIM id, data, more-packets flag.
    fn report(aim: &str, data: &[u8], more: bool) -> Vec<u8> {
        let mut r = vec![0u8; 64];
        r[0] = SCANNED_DATA_REPORT;
        r[1] = data.len() as u8;
        r[2..5].copy_from_slice(aim.as_bytes());
        r[5..5 + data.len()].copy_from_slice(data);
        r[1 + MORE_AT] = u8::from(more);
        r
    }

    #[test]
    fn a_upc_scan_comes_with_its_symbology_and_product_code() {
        let mut s = HidScanner::new(true);
        let scan = s.report(&report("]E0", b"0036000291452", false)).unwrap();
        assert_eq!(scan.symbology, Symbology::Ean13);
        assert_eq!(scan.aim.as_deref(), Some("]E0"));
        assert_eq!(scan.data, "0036000291452");
        assert_eq!(
            scan.product_code().unwrap().as_str(),
            Gtin::parse("036000291452").unwrap().as_str()
        );
    }

    #[test]
    fn a_long_gs1_128_scan_spans_packets_and_yields_its_gtin() {
        // (01) GTIN, (10) batch, (17) expiry, (21) serial, (240) additional id: 100 bytes.
        let element = b"\x1d0109501101530003\x1d10BATCH-2026-11-25-AB\x1d17261231\x1d21SERIAL-000000000001\x1d240ADDITIONAL-PRODUCT-ID-00001";
        let (a, b) = element.split_at(DATA_MAX);
        let mut s = HidScanner::new(true);
        assert_eq!(
            s.report(&report("]C1", a, true)),
            None,
            "more packets follow"
        );
        let scan = s.report(&report("]C1", b, false)).unwrap();
        assert_eq!(scan.symbology, Symbology::Gs1_128);
        assert_eq!(scan.data.as_bytes(), element);
        assert_eq!(scan.product_code().unwrap().as_str(), "09501101530003");
    }

    #[test]
    fn the_report_id_may_be_split_off() {
        let full = report("]C0", b"PB-1001", false);
        let mut s = HidScanner::new(false);
        let scan = s.report(&full[1..]).unwrap();
        assert_eq!(
            (scan.symbology, scan.data.as_str()),
            (Symbology::Code128, "PB-1001")
        );
    }

    #[test]
    fn empty_and_foreign_reports_are_not_scans() {
        let mut s = HidScanner::new(true);
        assert_eq!(s.report(&[]), None);
        assert_eq!(s.report(&report("]E0", b"", false)), None);
        let mut other = report("]E0", b"0036000291452", false);
        other[0] = 0x04;
        assert_eq!(s.report(&other), None, "another report id");
    }

    #[test]
    fn a_serial_scanner_sends_lines_with_or_without_aim() {
        let mut s = SerialScanner::new();
        assert!(s.bytes(b"]E0003600029").is_empty(), "not a whole line yet");
        let scans = s.bytes(b"1452\r\nPB-1001\r");
        assert_eq!(scans.len(), 2);
        assert_eq!(scans[0].symbology, Symbology::Ean13);
        assert_eq!(scans[0].data, "0036000291452");
        assert_eq!(scans[1].aim, None);
        assert_eq!(scans[1].data, "PB-1001");
        assert!(s.bytes(b"\r\n\n").is_empty(), "blank lines are nothing");
    }

    #[test]
    fn aim_identifiers() {
        for (aim, want) in [
            ("]E4", Symbology::Ean8),
            ("]A0", Symbology::Code39),
            ("]I0", Symbology::Interleaved2of5),
            ("]e0", Symbology::Gs1DataBar),
            ("]d2", Symbology::Gs1DataMatrix),
            ("]d1", Symbology::DataMatrix),
            ("]Q1", Symbology::Qr),
            ("]L0", Symbology::Pdf417),
            ("]z0", Symbology::Aztec),
            ("]X0", Symbology::Other("]X0".into())),
        ] {
            assert_eq!(Symbology::from_aim(aim), want, "{aim}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_report_or_byte_stream_panics(
            reports in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..80), 0..8),
        ) {
            let mut hid = HidScanner::new(reports.len() % 2 == 0);
            let mut serial = SerialScanner::new();
            for r in &reports {
                let _ = hid.report(r);
                let _ = serial.bytes(r);
            }
        }
    }
}

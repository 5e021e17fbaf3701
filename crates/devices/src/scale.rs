//! Scales, sans-IO: bytes in, readings out (shared/notes/devices.md §B).
//!
//! - USB HID point-of-sale scales (usage page 0x8D): data report `[03, status, unit, exp, lo, hi]`,
//!   or the 5-byte form without the report id that some HID backends deliver.
//! - Serial scales: NCI (`W\r` answered `\nxxxx.xxuu\r\n hh\r\x03`) and Mettler Toledo MT-SICS
//!   (`S\r\n` answered `S S     100.00 g`).
//!
//! [`ScaleFeed`] turns a stream of frames into what the packer sees: the first frame after
//! opening is discarded (it can be stale), a backlog is drained to its newest frame, only stable
//! readings count as a package weight, and silence means the scale is asleep.

use packbench_core::domain::{Weight, WeightUnit};
use serde::Serialize;

/// What a scale says about its reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleStatus {
    Fault,
    StableZero,
    InMotion,
    Stable,
    UnderZero,
    OverWeight,
    NeedsCalibration,
    NeedsZeroing,
}

impl ScaleStatus {
    fn from_hid(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Fault,
            2 => Self::StableZero,
            3 => Self::InMotion,
            4 => Self::Stable,
            5 => Self::UnderZero,
            6 => Self::OverWeight,
            7 => Self::NeedsCalibration,
            8 => Self::NeedsZeroing,
            _ => return None,
        })
    }

    /// In words for the packer.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Fault => "the scale reports a fault",
            Self::StableZero => "empty",
            Self::InMotion => "settling…",
            Self::Stable => "stable",
            Self::UnderZero => "below zero: zero the scale",
            Self::OverWeight => "over the scale's limit",
            Self::NeedsCalibration => "the scale needs calibrating",
            Self::NeedsZeroing => "zero the scale",
        }
    }
}

/// One frame from a scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reading {
    pub status: ScaleStatus,
    /// The weight, in grams (whatever unit the scale used).
    pub grams: f64,
    /// The unit the scale displays, when it is one a package weight can be given in.
    pub unit: Option<WeightUnit>,
}

impl Reading {
    /// The package weight this reading gives, if it is stable and above zero.
    pub fn package_weight(&self) -> Option<Weight> {
        if self.status != ScaleStatus::Stable || self.grams <= 0.0 {
            return None;
        }
        let unit = self.unit.unwrap_or(WeightUnit::G);
        let per_unit = Weight::new(1.0, unit).ok()?.grams();
        Weight::new(self.grams / per_unit, unit).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame too short ({0} bytes)")]
    Short(usize),
    #[error("not a scale data report (report id {0})")]
    NotData(u8),
    #[error("unknown status code {0}")]
    Status(u8),
    #[error("unknown unit code {0}")]
    Unit(u8),
    /// All zeros: some backends hand over an empty buffer on timeout. Not "0 lb stable".
    #[error("empty frame")]
    Empty,
    #[error("unreadable answer: {0}")]
    Garbled(String),
}

/// Grams per HID weight unit (HID POS usage tables, Weight Unit selectors 0x51-0x5C).
fn hid_unit(code: u8) -> Option<(f64, Option<WeightUnit>)> {
    Some(match code {
        1 => (0.001, None),              // milligram
        2 => (1.0, Some(WeightUnit::G)), // gram
        3 => (1000.0, Some(WeightUnit::Kg)),
        4 => (0.2, None),            // carat
        5 => (37.799_364_167, None), // tael (Hong Kong)
        6 => (0.064_798_91, None),   // grain
        7 => (1.555_173_84, None),   // pennyweight
        8 => (1_000_000.0, None),    // metric ton
        9 => (907_184.74, None),     // avoirdupois (short) ton
        10 => (31.103_476_8, None),  // troy ounce
        11 => (28.349_523_125, Some(WeightUnit::Oz)),
        12 => (453.592_37, Some(WeightUnit::Lb)),
        _ => return None,
    })
}

/// Parses a HID scale data report, with its report id (6 bytes) or without (5 bytes).
pub fn parse_hid_report(frame: &[u8]) -> Result<Reading, FrameError> {
    let body = match frame.len() {
        0..=4 => return Err(FrameError::Short(frame.len())),
        5 => frame,
        _ if frame[0] == 3 || frame[0] == 4 => &frame[1..6],
        _ => return Err(FrameError::NotData(frame[0])),
    };
    if body.iter().all(|b| *b == 0) {
        return Err(FrameError::Empty);
    }
    let status = ScaleStatus::from_hid(body[0]).ok_or(FrameError::Status(body[0]))?;
    let (grams_per_unit, unit) = hid_unit(body[1]).ok_or(FrameError::Unit(body[1]))?;
    let exp = i32::from(body[2] as i8);
    let raw = f64::from(u16::from_le_bytes([body[3], body[4]]));
    let value = raw * 10f64.powi(exp);
    let grams = if status == ScaleStatus::UnderZero {
        -value
    } else {
        value
    } * grams_per_unit;
    Ok(Reading {
        status,
        grams,
        unit,
    })
}

fn text_unit(u: &str) -> Option<(f64, WeightUnit)> {
    match u.trim().to_ascii_lowercase().as_str() {
        "lb" | "lbs" => Some((453.592_37, WeightUnit::Lb)),
        "oz" => Some((28.349_523_125, WeightUnit::Oz)),
        "kg" => Some((1000.0, WeightUnit::Kg)),
        "g" => Some((1.0, WeightUnit::G)),
        _ => None,
    }
}

/// Parses an NCI answer to `W\r`: `\n` weight+unit `\r\n` two status bytes `\r\x03`. The status
/// bytes' bits vary by model, so motion is read from the status text when it says so.
pub fn parse_nci(answer: &[u8]) -> Result<Reading, FrameError> {
    let text = String::from_utf8_lossy(answer);
    let garbled = || FrameError::Garbled(text.escape_debug().to_string());
    let mut parts = text
        .split(['\r', '\n', '\u{3}'])
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let first = parts.next().ok_or_else(garbled)?;
    if first == "?" {
        return Err(garbled());
    }
    let split = first
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(garbled)?;
    let (num, unit) = first.split_at(split);
    let value: f64 = num.trim().parse().map_err(|_| garbled())?;
    let (per_unit, unit) = text_unit(unit).ok_or_else(garbled)?;
    let status_text = parts.next().unwrap_or("");
    let moving = status_text.contains('M') || status_text.contains('m');
    Ok(text_reading(value, moving, per_unit, unit))
}

/// Parses an MT-SICS weight answer: `S S <value> <unit>` (stable), `S D ...` (dynamic),
/// `S +`/`S -` (over/under range), `S I` (busy).
pub fn parse_sics(line: &[u8]) -> Result<Reading, FrameError> {
    let text = String::from_utf8_lossy(line);
    let garbled = || FrameError::Garbled(text.escape_debug().to_string());
    let mut words = text.split_whitespace();
    if words.next() != Some("S") {
        return Err(garbled());
    }
    let kind = words.next().ok_or_else(garbled)?;
    let over_under = |status| {
        Ok(Reading {
            status,
            grams: 0.0,
            unit: None,
        })
    };
    match kind {
        "+" => return over_under(ScaleStatus::OverWeight),
        "-" => return over_under(ScaleStatus::UnderZero),
        "I" => return over_under(ScaleStatus::InMotion),
        "S" | "D" => {}
        _ => return Err(garbled()),
    }
    let value: f64 = words
        .next()
        .ok_or_else(garbled)?
        .parse()
        .map_err(|_| garbled())?;
    let (per_unit, unit) = words.next().and_then(text_unit).ok_or_else(garbled)?;
    Ok(text_reading(value, kind == "D", per_unit, unit))
}

/// A reading from a serial scale's text answer: a value in `unit`, moving or not.
fn text_reading(value: f64, moving: bool, per_unit: f64, unit: WeightUnit) -> Reading {
    let status = if moving {
        ScaleStatus::InMotion
    } else if value < 0.0 {
        ScaleStatus::UnderZero
    } else if value == 0.0 {
        ScaleStatus::StableZero
    } else {
        ScaleStatus::Stable
    };
    Reading {
        status,
        grams: value * per_unit,
        unit: Some(unit),
    }
}

/// What the packer sees of a scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ScaleState {
    /// Opened, waiting for the first frame that is not the stale one.
    Starting,
    /// No frame for a while: most HID scales switch themselves off.
    Asleep,
    /// A reading, with whether it may be used as a package weight.
    Reading {
        reading: Reading,
        usable: bool,
    },
    /// Frames that do not parse (another device, a broken cable).
    Unreadable,
    Unplugged,
}

/// Follows one scale's frames (sans-IO: the caller passes the time in milliseconds).
#[derive(Debug, Clone)]
pub struct ScaleFeed {
    discarded_first: bool,
    last_frame_ms: Option<u64>,
    asleep_after_ms: u64,
    state: ScaleState,
}

impl ScaleFeed {
    pub fn new(asleep_after_ms: u64) -> Self {
        Self {
            discarded_first: false,
            last_frame_ms: None,
            asleep_after_ms,
            state: ScaleState::Starting,
        }
    }

    pub fn state(&self) -> ScaleState {
        self.state
    }

    /// Takes every frame read since the last call (a backlog) and keeps the newest that parses.
    /// Answers the new state when it changed.
    pub fn frames(
        &mut self,
        frames: &[&[u8]],
        parse: fn(&[u8]) -> Result<Reading, FrameError>,
        now_ms: u64,
    ) -> Option<ScaleState> {
        let mut frames = frames.iter();
        if !self.discarded_first {
            // The first frame after opening can be a reading from before the box was placed.
            frames.next()?;
            self.discarded_first = true;
            self.last_frame_ms = Some(now_ms);
        }
        let mut newest = None;
        let mut any = false;
        for f in frames {
            any = true;
            match parse(f) {
                Ok(r) => newest = Some(r),
                Err(FrameError::Empty) => {}
                Err(_) => {}
            }
        }
        if !any {
            return None;
        }
        self.last_frame_ms = Some(now_ms);
        let next = match newest {
            Some(reading) => ScaleState::Reading {
                reading,
                usable: reading.package_weight().is_some(),
            },
            None => ScaleState::Unreadable,
        };
        self.set(next)
    }

    /// Called on a timer: a scale silent for too long is asleep.
    pub fn tick(&mut self, now_ms: u64) -> Option<ScaleState> {
        match self.last_frame_ms {
            Some(t) if now_ms.saturating_sub(t) >= self.asleep_after_ms => {
                self.set(ScaleState::Asleep)
            }
            _ => None,
        }
    }

    pub fn unplugged(&mut self) -> Option<ScaleState> {
        self.discarded_first = false;
        self.last_frame_ms = None;
        self.set(ScaleState::Unplugged)
    }

    fn set(&mut self, next: ScaleState) -> Option<ScaleState> {
        if next == self.state {
            None
        } else {
            self.state = next;
            Some(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn the_worked_examples_of_the_notes_decode() {
        // Fairbanks: 785 * 0.01 lb.
        let r = parse_hid_report(&[0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03]).unwrap();
        assert_eq!(
            (r.status, r.unit),
            (ScaleStatus::Stable, Some(WeightUnit::Lb))
        );
        let w = r.package_weight().unwrap();
        assert!(close(w.value(), 7.85), "{}", w.value());
        // Stamps.com: 1135 * 0.1 oz.
        let r = parse_hid_report(&[0x03, 0x04, 0x0B, 0xFF, 0x6F, 0x04]).unwrap();
        assert!(close(r.package_weight().unwrap().value(), 113.5));
        // Dymo M10 at zero: stable zero, not a package weight.
        let r = parse_hid_report(&[0x03, 0x02, 0x0B, 0xFF, 0x00, 0x00]).unwrap();
        assert_eq!(r.status, ScaleStatus::StableZero);
        assert_eq!(r.package_weight(), None);
        // Dymo in grams sends exponent 0.
        let r = parse_hid_report(&[0x03, 0x04, 0x02, 0x00, 0xE8, 0x03]).unwrap();
        assert!(close(r.grams, 1000.0));
    }

    #[test]
    fn the_five_byte_form_without_report_id_decodes_the_same() {
        let six = parse_hid_report(&[0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03]).unwrap();
        let five = parse_hid_report(&[0x04, 0x0C, 0xFE, 0x11, 0x03]).unwrap();
        assert_eq!(six, five);
    }

    #[test]
    fn every_status_code_has_a_state_and_unknown_ones_are_refused() {
        for code in 1..=8u8 {
            let r = parse_hid_report(&[0x03, code, 0x0C, 0xFE, 0x11, 0x03]).unwrap();
            assert!(!r.status.describe().is_empty());
            assert_eq!(
                r.package_weight().is_some(),
                code == 4,
                "only status 4 is a package weight"
            );
        }
        assert_eq!(
            parse_hid_report(&[0x03, 9, 0x0C, 0, 1, 0]),
            Err(FrameError::Status(9))
        );
        assert_eq!(
            parse_hid_report(&[0x03, 4, 13, 0, 1, 0]),
            Err(FrameError::Unit(13))
        );
        assert_eq!(
            parse_hid_report(&[0x05, 4, 12, 0, 1, 0]),
            Err(FrameError::NotData(5))
        );
        assert_eq!(
            parse_hid_report(&[0, 0, 0, 0, 0, 0]),
            Err(FrameError::NotData(0))
        );
        assert_eq!(
            parse_hid_report(&[0, 0, 0, 0, 0]),
            Err(FrameError::Empty),
            "an empty buffer is no reading"
        );
        assert_eq!(parse_hid_report(&[3, 4]), Err(FrameError::Short(2)));
        let under = parse_hid_report(&[0x03, 5, 12, 0xFF, 10, 0]).unwrap();
        assert!(under.grams < 0.0);
    }

    #[test]
    fn serial_answers_decode() {
        let r = parse_nci(b"\n0002.50lb\r\n00\r\x03").unwrap();
        assert_eq!(r.status, ScaleStatus::Stable);
        assert!(close(r.package_weight().unwrap().value(), 2.5));
        assert_eq!(
            parse_nci(b"\n0000.00lb\r\n00\r\x03").unwrap().status,
            ScaleStatus::StableZero
        );
        assert!(parse_nci(b"\n?\r\x03").is_err());
        let r = parse_sics(b"S S     100.00 g\r\n").unwrap();
        assert_eq!((r.status, r.grams), (ScaleStatus::Stable, 100.0));
        assert_eq!(
            parse_sics(b"S D     99.50 g").unwrap().status,
            ScaleStatus::InMotion
        );
        assert_eq!(parse_sics(b"S +").unwrap().status, ScaleStatus::OverWeight);
        assert!(parse_sics(b"ES").is_err());
    }

    #[test]
    fn the_feed_discards_the_first_frame_keeps_the_newest_and_notices_sleep() {
        let mut feed = ScaleFeed::new(3000);
        let stale: &[u8] = &[0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03];
        assert_eq!(
            feed.frames(&[stale], parse_hid_report, 0),
            None,
            "the first frame is not trusted"
        );
        let moving: &[u8] = &[0x03, 0x03, 0x0C, 0xFE, 0x00, 0x01];
        let settled: &[u8] = &[0x03, 0x04, 0x0C, 0xFE, 0xFA, 0x00];
        let s = feed
            .frames(&[moving, moving, settled], parse_hid_report, 100)
            .unwrap();
        let ScaleState::Reading { reading, usable } = s else {
            panic!("{s:?}")
        };
        assert!(
            usable && close(reading.package_weight().unwrap().value(), 2.5),
            "the newest of a backlog wins"
        );
        assert_eq!(
            feed.frames(&[settled], parse_hid_report, 200),
            None,
            "no change, no event"
        );
        assert_eq!(feed.tick(2000), None);
        assert_eq!(feed.tick(3300), Some(ScaleState::Asleep));
        assert!(matches!(
            feed.frames(&[moving], parse_hid_report, 3400),
            Some(ScaleState::Reading { usable: false, .. })
        ));
        assert_eq!(
            feed.frames(&[b"junk"], parse_hid_report, 3500),
            Some(ScaleState::Unreadable)
        );
        assert_eq!(feed.unplugged(), Some(ScaleState::Unplugged));
        assert_eq!(
            feed.frames(&[settled], parse_hid_report, 4000),
            None,
            "after replugging, the first frame is discarded again"
        );
    }

    proptest! {
        #[test]
        fn no_byte_sequence_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_hid_report(&bytes);
            let _ = parse_nci(&bytes);
            let _ = parse_sics(&bytes);
        }
    }
}

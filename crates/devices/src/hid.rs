//! HID report descriptors, read just far enough to say what a device is: its top-level
//! application collections (usage page + usage) and the report ids they use. Scales
//! (usage page 0x8D) and barcode scanners (0x8C) are found this way instead of from a list of
//! vendor ids; a keyboard (page 0x01, usage 0x06) is also what a scanner in keyboard-wedge
//! mode looks like. Sans-IO: bytes in, collections out.

use serde::Serialize;

/// HID POS scale usage page.
pub const PAGE_SCALE: u16 = 0x8D;
/// HID POS barcode scanner usage page.
pub const PAGE_BARCODE_SCANNER: u16 = 0x8C;
/// Generic Desktop usage page (keyboards, mice).
pub const PAGE_GENERIC_DESKTOP: u16 = 0x01;
/// Generic Desktop: Keyboard.
pub const USAGE_KEYBOARD: u16 = 0x06;

/// A top-level application collection of a report descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Application {
    pub usage_page: u16,
    pub usage: u16,
    /// Report ids its reports carry (empty: reports are not numbered).
    pub report_ids: Vec<u8>,
}

/// What a HID device is to the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HidKind {
    Scale,
    BarcodeScanner,
    /// A keyboard, or a scanner in keyboard-wedge mode (its scans reach the window as keys).
    Keyboard,
    Other,
}

impl HidKind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Scale => "scale (HID point of sale)",
            Self::BarcodeScanner => "barcode scanner (HID point of sale)",
            Self::Keyboard => "keyboard, or a scanner in keyboard mode",
            Self::Other => "other HID device",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    #[error("the report descriptor ends inside an item at byte {0}")]
    Truncated(usize),
    #[error("the report descriptor closes more collections than it opens (byte {0})")]
    Unbalanced(usize),
}

/// The top-level application collections of a report descriptor, in order.
pub fn applications(descriptor: &[u8]) -> Result<Vec<Application>, DescriptorError> {
    let mut out: Vec<Application> = Vec::new();
    let mut page: u16 = 0;
    let mut pushed: Vec<u16> = Vec::new();
    // The usage for the next main item: (page if the usage was extended, usage).
    let mut usage: Option<(Option<u16>, u16)> = None;
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < descriptor.len() {
        let prefix = descriptor[i];
        if prefix == 0xFE {
            // Long item: size, tag, data. None are defined; skip it.
            let size = *descriptor.get(i + 1).ok_or(DescriptorError::Truncated(i))? as usize;
            i += 3 + size;
            if i > descriptor.len() {
                return Err(DescriptorError::Truncated(i));
            }
            continue;
        }
        let size = match prefix & 0x03 {
            3 => 4,
            n => n as usize,
        };
        let data = descriptor
            .get(i + 1..i + 1 + size)
            .ok_or(DescriptorError::Truncated(i))?;
        let value = data
            .iter()
            .rev()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        let (kind, tag) = ((prefix >> 2) & 0x03, prefix >> 4);
        match (kind, tag) {
            // Main: Collection.
            (0, 0xA) => {
                if depth == 0 && data.first().copied().unwrap_or(0) == 0x01 {
                    let (p, u) = usage.unwrap_or((None, 0));
                    out.push(Application {
                        usage_page: p.unwrap_or(page),
                        usage: u,
                        report_ids: Vec::new(),
                    });
                }
                depth += 1;
                usage = None;
            }
            // Main: End Collection.
            (0, 0xC) => {
                depth = depth.checked_sub(1).ok_or(DescriptorError::Unbalanced(i))?;
                usage = None;
            }
            // Other main items (Input, Output, Feature) end the locals.
            (0, _) => usage = None,
            // Global: Usage Page, Report ID, Push, Pop.
            (1, 0x0) => page = value as u16,
            (1, 0x8) => {
                if depth > 0
                    && let Some(app) = out.last_mut()
                    && !app.report_ids.contains(&(value as u8))
                {
                    app.report_ids.push(value as u8);
                }
            }
            (1, 0xA) => pushed.push(page),
            (1, 0xB) => page = pushed.pop().unwrap_or(page),
            // Local: Usage (a 4-byte usage carries its own page). The first one counts.
            (2, 0x0) if usage.is_none() => {
                usage = Some(if size == 4 {
                    (Some((value >> 16) as u16), value as u16)
                } else {
                    (None, value as u16)
                })
            }
            _ => {}
        }
        i += 1 + size;
    }
    Ok(out)
}

/// What a device with these collections is (the first one the bench cares about).
pub fn classify(apps: &[Application]) -> HidKind {
    let has = |f: &dyn Fn(&Application) -> bool| apps.iter().any(f);
    if has(&|a| a.usage_page == PAGE_SCALE) {
        HidKind::Scale
    } else if has(&|a| a.usage_page == PAGE_BARCODE_SCANNER) {
        HidKind::BarcodeScanner
    } else if has(&|a| a.usage_page == PAGE_GENERIC_DESKTOP && a.usage == USAGE_KEYBOARD) {
        HidKind::Keyboard
    } else {
        HidKind::Other
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The boot keyboard of the HID 1.11 specification, appendix E.6.
    pub const KEYBOARD: &[u8] = &[
        0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07, 0x19, 0xE0, 0x29, 0xE7, 0x15, 0x00, 0x25,
        0x01, 0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0x95, 0x01, 0x75, 0x08, 0x81, 0x01, 0x95, 0x05,
        0x75, 0x01, 0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02, 0x95, 0x01, 0x75, 0x03, 0x91,
        0x01, 0x95, 0x06, 0x75, 0x08, 0x15, 0x00, 0x25, 0x65, 0x05, 0x07, 0x19, 0x00, 0x29, 0x65,
        0x81, 0x00, 0xC0,
    ];

    /// A POS scale as HID POS describes one: a Scale Device application with a feature report
    /// (id 1), the weight data report (id 3, six bytes with the id) and the control report
    /// (id 2, zero), laid out after the usage tables (usages 0x20, 0x30-0x32, 0x40, 0x50, 0x70).
    pub const SCALE: &[u8] = &[
        0x05, 0x8D, // Usage Page (Scale)
        0x09, 0x20, // Usage (Scale Device)
        0xA1, 0x01, // Collection (Application)
        0x85, 0x01, //   Report ID 1
        0x09, 0x30, //   Usage (Scale Attribute Report)
        0xA1, 0x02, //   Collection (Logical)
        0x15, 0x00, 0x25, 0x0C, 0x75, 0x08, 0x95, 0x01, //
        0x09, 0x50, 0xB1, 0x02, //   Usage (Weight Unit), Feature
        0xC0, //   End Collection
        0x85, 0x03, //   Report ID 3
        0x09, 0x32, //   Usage (Scale Data Report)
        0xA1, 0x02, //   Collection (Logical)
        0x09, 0x70, 0x09, 0x50, 0x75, 0x08, 0x95, 0x02, 0x81, 0x02, // status, unit
        0x09, 0x41, 0x15, 0x80, 0x25, 0x7F, 0x95, 0x01, 0x81, 0x02, // scaling (exponent)
        0x09, 0x40, 0x16, 0x00, 0x00, 0x26, 0xFF, 0x7F, 0x75, 0x10, 0x81, 0x02, // weight
        0xC0, //   End Collection
        0x85, 0x02, //   Report ID 2
        0x09, 0x31, //   Usage (Scale Control Report)
        0xA1, 0x02, 0x09, 0x80, 0x15, 0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x01, 0x91, 0x02, 0x75,
        0x07, 0x91, 0x03, 0xC0, //
        0xC0, // End Collection
    ];

    /// A HID POS barcode scanner (page 0x8C, usage 0x02) with the scanned data report (id 2)
    /// and a keyboard interface's collection beside it, as combined devices present both.
    pub const SCANNER: &[u8] = &[
        0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01, // Barcode Scanner application
        0x85, 0x02, 0x09, 0x12, 0xA1, 0x02, // Report 2: Scanned Data Report
        0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x3F, 0x09, 0xFE, 0x81, 0x02, 0xC0, //
        0x85, 0xFE, 0x09, 0x14, 0x75, 0x08, 0x95, 0x01, 0xB1, 0x02, // feature 0xFE: enable
        0xC0,
    ];

    #[test]
    fn a_scale_is_found_by_its_usage_page() {
        let apps = applications(SCALE).unwrap();
        assert_eq!(
            apps,
            vec![Application {
                usage_page: 0x8D,
                usage: 0x20,
                report_ids: vec![1, 3, 2]
            }]
        );
        assert_eq!(classify(&apps), HidKind::Scale);
    }

    #[test]
    fn a_keyboard_and_a_scanner_are_told_apart() {
        let kb = applications(KEYBOARD).unwrap();
        assert_eq!(
            kb,
            vec![Application {
                usage_page: 1,
                usage: 6,
                report_ids: vec![]
            }]
        );
        assert_eq!(classify(&kb), HidKind::Keyboard);
        let both: Vec<u8> = [KEYBOARD, SCANNER].concat();
        let apps = applications(&both).unwrap();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[1].report_ids, vec![2, 0xFE]);
        assert_eq!(
            classify(&apps),
            HidKind::BarcodeScanner,
            "a scanner that is also a keyboard is a scanner"
        );
    }

    #[test]
    fn extended_usages_long_items_push_and_pop() {
        // Usage Page (Generic Desktop), Push, Usage Page (vendor), Pop, 4-byte Usage naming
        // page 0x8D itself, a long item, then the application collection.
        let d = [
            0x05, 0x01, 0xA4, 0x06, 0x00, 0xFF, 0xB4, 0x0B, 0x20, 0x00, 0x8D, 0x00, 0xFE, 0x02,
            0x10, 0xAA, 0xBB, 0xA1, 0x01, 0xC0,
        ];
        let apps = applications(&d).unwrap();
        assert_eq!((apps[0].usage_page, apps[0].usage), (0x8D, 0x20));
        assert_eq!(classify(&apps), HidKind::Scale);
    }

    #[test]
    fn broken_descriptors_are_errors_not_panics() {
        assert_eq!(applications(&[0x05]), Err(DescriptorError::Truncated(0)));
        assert_eq!(applications(&[0xC0]), Err(DescriptorError::Unbalanced(0)));
        assert_eq!(applications(&[]).unwrap(), vec![]);
        assert_eq!(classify(&[]), HidKind::Other);
    }

    proptest::proptest! {
        #[test]
        fn no_descriptor_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = applications(&bytes).map(|a| classify(&a));
        }
    }
}

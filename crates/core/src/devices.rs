//! A station's devices: how the bench names each one ([`DeviceId`], parsed here and nowhere
//! else), and its device settings — which scale, printers and scanner it uses and how labels
//! are printed there — kept as the JSON document the station reads, checked field by field
//! before it is kept, so a typo never silently turns a station's scale off.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

/// A bench device as the Devices screen, the device settings and `packbench-device` name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceId {
    /// `sim:scale`: the station's simulated scale (the same HID reports a real one sends).
    SimScale,
    /// `sim:printer`: the station's simulated label printer (jobs written to a folder).
    SimPrinter,
    /// `hid:PATH`: a HID device's node (`hid:/dev/hidraw3`): a USB scale or a HID POS scanner.
    Hid(String),
    /// `serial:PATH[?protocol=nci|sics&baud=N]`: a scale, or a scanner in serial mode.
    Serial(SerialPort),
    /// `usb:VID:PID` (hex): a USB label printer.
    Usb { vendor: u16, product: u16 },
    /// `tcp://HOST[:PORT]`: a networked label printer; held as `HOST:PORT` (9100 by default).
    Tcp(String),
    /// `spool:QUEUE`: an OS print queue (labels raw, documents rendered by the spooler).
    Spool(String),
}

/// A serial port and what the bench was told about the device on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialPort {
    pub path: String,
    /// A scale's protocol (NCI when not said).
    pub protocol: Option<SerialProtocol>,
    /// The line speed (9600 when not said).
    pub baud: Option<u32>,
}

/// The serial scale protocols the bench speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialProtocol {
    /// NCI / Avery Weigh-Tronix / Brecknell: `W\r` → `\n  2.50lb\r\n00\r\x03`.
    Nci,
    /// Mettler Toledo MT-SICS: `S\r\n` → `S S     100.00 g\r\n`.
    Sics,
}

impl SerialProtocol {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "nci" => Some(Self::Nci),
            "sics" => Some(Self::Sics),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nci => "nci",
            Self::Sics => "sics",
        }
    }
}

/// What a device is used as at the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRole {
    Scale,
    Printer,
    Scanner,
}

/// Why a name is not a device, in words that say what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeviceIdError(pub String);

/// The names the bench knows, for error messages.
pub const DEVICE_FORMS: &str = "sim:scale, sim:printer, hid:PATH, serial:PATH[?protocol=nci|sics&baud=N], usb:VID:PID, tcp://HOST[:PORT] or spool:QUEUE";

impl DeviceId {
    /// Whether this device can serve as `role` (a printer is not a scale).
    pub fn serves(&self, role: DeviceRole) -> bool {
        match role {
            DeviceRole::Scale => matches!(self, Self::SimScale | Self::Hid(_) | Self::Serial(_)),
            DeviceRole::Printer => matches!(
                self,
                Self::SimPrinter | Self::Usb { .. } | Self::Tcp(_) | Self::Spool(_)
            ),
            DeviceRole::Scanner => matches!(self, Self::Hid(_) | Self::Serial(_)),
        }
    }
}

impl FromStr for DeviceId {
    type Err = DeviceIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || DeviceIdError(format!("`{s}` is not a device: use {DEVICE_FORMS}"));
        if s.len() > 300 {
            return Err(DeviceIdError(
                "a device name has at most 300 characters".into(),
            ));
        }
        match s {
            "sim:scale" => return Ok(Self::SimScale),
            "sim:printer" => return Ok(Self::SimPrinter),
            _ => {}
        }
        if let Some(path) = s.strip_prefix("hid:") {
            if path.is_empty() {
                return Err(DeviceIdError(
                    "a HID device needs its node: hid:/dev/hidraw3".into(),
                ));
            }
            return Ok(Self::Hid(path.to_owned()));
        }
        if let Some(rest) = s.strip_prefix("serial:") {
            return serial_port(rest).map(Self::Serial);
        }
        if let Some(rest) = s.strip_prefix("usb:") {
            let (v, p) = rest.split_once(':').ok_or_else(usb_form)?;
            let hex = |x: &str| u16::from_str_radix(x, 16).map_err(|_| usb_form());
            return Ok(Self::Usb {
                vendor: hex(v)?,
                product: hex(p)?,
            });
        }
        if let Some(rest) = s.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            if rest.is_empty() || rest.contains(['/', '?', '@', ' ']) {
                return Err(DeviceIdError(format!(
                    "`{s}` is not a networked printer: tcp://HOST[:PORT] (9100 by default)"
                )));
            }
            let has_port = rest
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
            return Ok(Self::Tcp(if has_port {
                rest.to_owned()
            } else {
                format!("{rest}:9100")
            }));
        }
        if let Some(queue) = s.strip_prefix("spool:") {
            if queue.is_empty() {
                return Err(DeviceIdError(
                    "a print queue needs its name: spool:QUEUE".into(),
                ));
            }
            return Ok(Self::Spool(queue.to_owned()));
        }
        Err(unknown())
    }
}

fn usb_form() -> DeviceIdError {
    DeviceIdError(
        "a USB printer is usb:VID:PID, its vendor and product ids in hex (as `packbench-device list` shows)".into(),
    )
}

fn serial_port(rest: &str) -> Result<SerialPort, DeviceIdError> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(DeviceIdError(
            "a serial device needs its port: serial:/dev/ttyUSB0".into(),
        ));
    }
    let mut port = SerialPort {
        path: path.to_owned(),
        protocol: None,
        baud: None,
    };
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        match kv.split_once('=') {
            Some(("protocol", v)) => {
                port.protocol =
                    Some(SerialProtocol::parse(v).ok_or_else(|| {
                        DeviceIdError(format!("protocol is nci or sics, not `{v}`"))
                    })?)
            }
            Some(("baud", v)) => {
                port.baud = Some(
                    v.parse()
                        .ok()
                        .filter(|b| (300..=921_600).contains(b))
                        .ok_or_else(|| {
                            DeviceIdError(format!(
                                "baud is a line speed from 300 to 921600, not `{v}`"
                            ))
                        })?,
                )
            }
            _ => {
                return Err(DeviceIdError(format!(
                    "unknown serial option `{kv}` (protocol, baud)"
                )));
            }
        }
    }
    Ok(port)
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SimScale => f.write_str("sim:scale"),
            Self::SimPrinter => f.write_str("sim:printer"),
            Self::Hid(path) => write!(f, "hid:{path}"),
            Self::Serial(p) => {
                write!(f, "serial:{}", p.path)?;
                let mut sep = '?';
                if let Some(protocol) = p.protocol {
                    write!(f, "{sep}protocol={}", protocol.as_str())?;
                    sep = '&';
                }
                if let Some(baud) = p.baud {
                    write!(f, "{sep}baud={baud}")?;
                }
                Ok(())
            }
            Self::Usb { vendor, product } => write!(f, "usb:{vendor:04x}:{product:04x}"),
            Self::Tcp(addr) => write!(f, "tcp://{addr}"),
            Self::Spool(queue) => write!(f, "spool:{queue}"),
        }
    }
}

/// What is wrong with a device settings document: the field, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettingsError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> DeviceSettingsError {
    DeviceSettingsError {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn device(
    field: &str,
    role: DeviceRole,
    v: &Value,
) -> Result<Option<DeviceId>, DeviceSettingsError> {
    let what = match role {
        DeviceRole::Scale => {
            "a scale (sim:scale, hid:PATH, serial:PATH[?protocol=nci|sics&baud=N])"
        }
        DeviceRole::Printer => {
            "a printer (sim:printer, usb:VID:PID, tcp://HOST[:PORT], spool:QUEUE)"
        }
        DeviceRole::Scanner => "a scanner read by Packbench (hid:PATH, serial:PATH[?baud=N])",
    };
    match v {
        Value::Null => Ok(None),
        Value::String(s) => match s.parse::<DeviceId>() {
            Ok(id) if id.serves(role) => Ok(Some(id)),
            Ok(_) => Err(err(field, format!("{field} is {what}, or null for none"))),
            Err(e) => Err(err(
                field,
                format!("{e}; {field} is {what}, or null for none"),
            )),
        },
        _ => Err(err(field, format!("{field} is {what}, or null for none"))),
    }
}

/// How labels are sent to the station's label printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelFormat {
    /// Printer language, fitted to the printer's resolution and darkness.
    #[default]
    Zpl,
    /// An image, turned into a ZPL graphic at the printer's resolution.
    Png,
    /// A document for a laser printer, through the spooler.
    Pdf,
}

impl LabelFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zpl => "zpl",
            Self::Png => "png",
            Self::Pdf => "pdf",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zpl" => Some(Self::Zpl),
            "png" => Some(Self::Png),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
}

/// A box the station offers when packing: its outside size in inches and its empty weight (in
/// the warehouse's weight unit; none when nobody weighed it).
#[derive(Debug, Clone, PartialEq)]
pub struct BoxPreset {
    pub name: String,
    pub length: f64,
    pub width: f64,
    pub height: f64,
    pub tare: Option<f64>,
}

/// A station's device settings, typed: what its document says, with each field it leaves out
/// at the default a new station has (no devices chosen, ZPL at 203 dpi with the printer's own
/// darkness, labels printed as soon as they are bought, no label-to-box scan, no boxes).
#[derive(Debug, Clone, PartialEq)]
pub struct StationDevices {
    pub scale: Option<DeviceId>,
    /// The label printer.
    pub printer: Option<DeviceId>,
    /// The document printer (packing slips, pick lists).
    pub slip_printer: Option<DeviceId>,
    /// A scanner Packbench reads itself; none for a keyboard-wedge scanner.
    pub scanner: Option<DeviceId>,
    pub label_format: LabelFormat,
    /// The label printer's head: 203 or 300 dots per inch.
    pub dpi: u16,
    /// 0-30 (ZPL `~SD`); none keeps the printer's own.
    pub darkness: Option<u8>,
    pub auto_print: bool,
    pub label_to_box: bool,
    pub boxes: Vec<BoxPreset>,
}

impl Default for StationDevices {
    fn default() -> Self {
        Self {
            scale: None,
            printer: None,
            slip_printer: None,
            scanner: None,
            label_format: LabelFormat::Zpl,
            dpi: 203,
            darkness: None,
            auto_print: true,
            label_to_box: false,
            boxes: Vec::new(),
        }
    }
}

/// Checks a device settings document; answers the first problem.
pub fn check_device_settings(doc: &Map<String, Value>) -> Result<(), DeviceSettingsError> {
    StationDevices::parse(doc).map(|_| ())
}

impl StationDevices {
    /// Reads a device settings document, field by field; answers the first problem, named by
    /// its field. Every device name is parsed into a [`DeviceId`] and checked for its role.
    pub fn parse(doc: &Map<String, Value>) -> Result<Self, DeviceSettingsError> {
        let mut out = Self::default();
        for (key, v) in doc {
            match key.as_str() {
                "scale" => out.scale = device(key, DeviceRole::Scale, v)?,
                "printer" => out.printer = device(key, DeviceRole::Printer, v)?,
                "slip_printer" => out.slip_printer = device(key, DeviceRole::Printer, v)?,
                "scanner" => out.scanner = device(key, DeviceRole::Scanner, v)?,
                "label_format" => {
                    out.label_format = v
                        .as_str()
                        .and_then(LabelFormat::parse)
                        .ok_or_else(|| err(key, "label_format is zpl, png or pdf"))?;
                }
                "dpi" => {
                    out.dpi = match v.as_u64() {
                        Some(203) => 203,
                        Some(300) => 300,
                        _ => {
                            return Err(err(
                                key,
                                "dpi is 203 or 300 (the printer head's resolution)",
                            ));
                        }
                    }
                }
                "darkness" => {
                    out.darkness = match v {
                        Value::Null => None,
                        _ => Some(
                            v.as_u64()
                                .filter(|d| *d <= 30)
                                .and_then(|d| u8::try_from(d).ok())
                                .ok_or_else(|| {
                                    err(
                                        key,
                                        "darkness is a whole number from 0 to 30, or null for the printer's own",
                                    )
                                })?,
                        ),
                    }
                }
                "auto_print" | "label_to_box" => {
                    let b = v
                        .as_bool()
                        .ok_or_else(|| err(key, format!("{key} is true or false")))?;
                    if key == "auto_print" {
                        out.auto_print = b;
                    } else {
                        out.label_to_box = b;
                    }
                }
                "boxes" => out.boxes = boxes(key, v)?,
                _ => {
                    return Err(err(
                        key,
                        format!(
                            "unknown device setting `{key}` (scale, printer, slip_printer, scanner, label_format, dpi, darkness, auto_print, label_to_box, boxes)"
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }
}

fn boxes(key: &str, v: &Value) -> Result<Vec<BoxPreset>, DeviceSettingsError> {
    let boxes = v
        .as_array()
        .filter(|b| b.len() <= 30)
        .ok_or_else(|| err(key, "boxes is a list of at most 30 boxes"))?;
    let mut out = Vec::with_capacity(boxes.len());
    for (i, b) in boxes.iter().enumerate() {
        let field = format!("boxes[{i}]");
        let b = b
            .as_object()
            .ok_or_else(|| err(&field, "a box is {name, length, width, height, tare}"))?;
        if let Some(k) = b
            .keys()
            .find(|k| !["name", "length", "width", "height", "tare"].contains(&k.as_str()))
        {
            return Err(err(
                &format!("{field}.{k}"),
                "a box has name, length, width, height and tare only",
            ));
        }
        let tare = match b.get("tare") {
            None | Some(Value::Null) => None,
            Some(t) => Some(
                t.as_f64()
                    .filter(|t| (0.0..=100.0).contains(t))
                    .ok_or_else(|| {
                        err(
                            &format!("{field}.tare"),
                            "tare is the empty box's weight, from 0 to 100 in the warehouse's weight unit",
                        )
                    })?,
            ),
        };
        let name = b.get("name").and_then(Value::as_str).unwrap_or("");
        if name.trim().is_empty() || name.len() > 40 {
            return Err(err(
                &format!("{field}.name"),
                "a box needs a name of at most 40 characters",
            ));
        }
        let mut size = [0.0; 3];
        for (d, slot) in ["length", "width", "height"].iter().zip(&mut size) {
            *slot = b
                .get(*d)
                .and_then(Value::as_f64)
                .filter(|x| *x > 0.0 && *x <= 200.0)
                .ok_or_else(|| {
                    err(
                        &format!("{field}.{d}"),
                        format!("{d} is a number above 0 and at most 200 (inches)"),
                    )
                })?;
        }
        out.push(BoxPreset {
            name: name.to_owned(),
            length: size[0],
            width: size[1],
            height: size[2],
            tare,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<(), DeviceSettingsError> {
        check_device_settings(v.as_object().unwrap())
    }

    #[test]
    fn a_full_station_is_accepted() {
        assert_eq!(
            check(
                json!({"scale": "hid:/dev/hidraw3", "printer": "usb:0a5f:0166", "slip_printer": "spool:Laser",
                "scanner": null, "label_format": "zpl", "dpi": 300, "darkness": 20, "auto_print": true,
                "label_to_box": true, "boxes": [{"name": "S", "length": 8, "width": 6, "height": 4, "tare": 0.3}]})
            ),
            Ok(())
        );
        assert_eq!(check(json!({})), Ok(()));
    }

    #[test]
    fn a_document_reads_as_typed_settings() {
        let doc = json!({"scale": "serial:COM3?protocol=sics", "printer": "spool:ZDesigner ZD420-203dpi ZPL",
            "label_format": "png", "dpi": 300, "darkness": 0, "auto_print": false,
            "boxes": [{"name": "S", "length": 8, "width": 6, "height": 4, "tare": 0.3}, {"name": "M", "length": 12, "width": 10, "height": 6}]});
        let d = StationDevices::parse(doc.as_object().unwrap()).unwrap();
        assert_eq!(d.scale.unwrap().to_string(), "serial:COM3?protocol=sics");
        assert_eq!(
            d.printer,
            Some(DeviceId::Spool("ZDesigner ZD420-203dpi ZPL".into()))
        );
        assert_eq!(
            (d.label_format, d.dpi, d.darkness),
            (LabelFormat::Png, 300, Some(0))
        );
        assert!(!d.auto_print && !d.label_to_box);
        assert_eq!(d.boxes[0].tare, Some(0.3));
        assert_eq!(
            (d.boxes[1].name.as_str(), d.boxes[1].length, d.boxes[1].tare),
            ("M", 12.0, None)
        );
        // What a document leaves out is a new station's default.
        assert_eq!(
            StationDevices::parse(&Map::new()).unwrap(),
            StationDevices::default()
        );
        assert_eq!(StationDevices::default().dpi, 203);
        assert!(StationDevices::default().auto_print);
    }

    #[test]
    fn each_mistake_names_its_field() {
        for (doc, field) in [
            (json!({"scale": "dymo"}), "scale"),
            (json!({"scale": "tcp://10.0.0.5"}), "scale"),
            (json!({"printer": "hid:/dev/hidraw3"}), "printer"),
            (json!({"scanner": "sim:printer"}), "scanner"),
            (json!({"scale": "serial:/dev/ttyUSB0?protocol=x"}), "scale"),
            (json!({"printer": 7}), "printer"),
            (json!({"label_format": "gif"}), "label_format"),
            (json!({"dpi": 600}), "dpi"),
            (json!({"label_to_box": "yes"}), "label_to_box"),
            (json!({"darkness": 31}), "darkness"),
            (json!({"auto_print": "yes"}), "auto_print"),
            (json!({"boxes": {}}), "boxes"),
            (
                json!({"boxes": [{"name": "", "length": 1, "width": 1, "height": 1}]}),
                "boxes[0].name",
            ),
            (
                json!({"boxes": [{"name": "S", "length": 0, "width": 1, "height": 1}]}),
                "boxes[0].length",
            ),
            (
                json!({"boxes": [{"name": "S", "length": 1, "width": 1, "height": 1, "weight": 2}]}),
                "boxes[0].weight",
            ),
            (
                json!({"boxes": [{"name": "S", "length": 1, "width": 1, "height": 1, "tare": -1}]}),
                "boxes[0].tare",
            ),
            (json!({"label_printer": "tcp://x"}), "label_printer"),
        ] {
            assert_eq!(check(doc.clone()).unwrap_err().field, field, "{doc}");
        }
    }

    #[test]
    fn a_device_name_reads_back_as_written() {
        for name in [
            "sim:scale",
            "sim:printer",
            "hid:/dev/hidraw3",
            "serial:/dev/ttyUSB0",
            "serial:/dev/ttyUSB0?protocol=sics&baud=4800",
            "serial:COM3?baud=19200",
            "usb:0a5f:0166",
            "tcp://zebra.local:6101",
            "spool:ZD420",
        ] {
            let id: DeviceId = name.parse().unwrap();
            assert_eq!(id.to_string(), name);
        }
        assert_eq!(
            "tcp://10.0.0.5".parse::<DeviceId>().unwrap(),
            DeviceId::Tcp("10.0.0.5:9100".into())
        );
        assert_eq!(
            "usb:0A5F:0166".parse::<DeviceId>().unwrap().to_string(),
            "usb:0a5f:0166"
        );
    }

    #[test]
    fn a_wrong_name_says_what_to_write() {
        for (bad, says) in [
            ("dymo", "sim:scale, sim:printer"),
            ("lpt1", "usb:VID:PID"),
            ("usb:zebra", "usb:VID:PID"),
            ("hid:", "hid:/dev/hidraw3"),
            ("serial:", "serial:/dev/ttyUSB0"),
            ("serial:/dev/ttyS0?protocol=x", "nci or sics"),
            ("serial:/dev/ttyS0?baud=fast", "baud"),
            ("serial:/dev/ttyS0?parity=even", "unknown serial option"),
            ("tcp://", "tcp://HOST[:PORT]"),
            ("tcp://a/b", "tcp://HOST[:PORT]"),
            ("spool:", "spool:QUEUE"),
        ] {
            let e = bad.parse::<DeviceId>().unwrap_err();
            assert!(e.0.contains(says), "{bad}: {e}");
        }
        assert!("sim:scanner".parse::<DeviceId>().is_err());
    }

    #[test]
    fn each_device_serves_its_own_roles() {
        let id = |s: &str| s.parse::<DeviceId>().unwrap();
        assert!(id("hid:/dev/hidraw1").serves(DeviceRole::Scale));
        assert!(id("hid:/dev/hidraw1").serves(DeviceRole::Scanner));
        assert!(!id("hid:/dev/hidraw1").serves(DeviceRole::Printer));
        assert!(id("spool:Laser").serves(DeviceRole::Printer));
        assert!(!id("sim:printer").serves(DeviceRole::Scale));
        assert!(!id("sim:scale").serves(DeviceRole::Scanner));
    }
}

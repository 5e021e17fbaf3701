//! What is plugged in, as the bench sees it, read from Linux's sysfs (no libudev needed):
//! - HID devices (`/sys/class/hidraw/*`): their report descriptor says whether each is a
//!   scale (usage page 0x8D), a barcode scanner (0x8C) or a keyboard (a scanner in keyboard
//!   mode looks like one);
//! - USB printers (`/sys/bus/usb/devices/*`: an interface of class 07), with whether the
//!   kernel's `usblp` driver holds them;
//! - USB serial ports (`/sys/class/tty/ttyUSB*`, `ttyACM*`): a serial scale or a scanner in
//!   serial mode;
//!
//! and, for each, whether this user may open it (the udev rules grant that).
//!
//! The roots are parameters so tests run on a made-up tree.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::hid::{self, HidKind};

/// A device found on this computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// How to name it to Packbench: `hid:/dev/hidraw3`, `usb:0a5f:0166`, `serial:/dev/ttyUSB0`.
    pub id: String,
    pub kind: FoundKind,
    /// The maker's name for it, when it gives one.
    pub name: String,
    /// hid, usb or serial.
    pub transport: &'static str,
    pub vendor_id: Option<u16>,
    pub product_id: Option<u16>,
    /// Anything the packer should know before using it (no permission, held by a driver).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundKind {
    Scale,
    BarcodeScanner,
    /// A keyboard, or a scanner in keyboard mode (its scans arrive as typing).
    Keyboard,
    Printer,
    /// A serial port: a serial scale (NCI, SICS) or a scanner in serial mode.
    SerialPort,
    Other,
}

impl FoundKind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Scale => "scale",
            Self::BarcodeScanner => "barcode scanner",
            Self::Keyboard => "keyboard, or a scanner in keyboard mode",
            Self::Printer => "printer",
            Self::SerialPort => "serial port (a serial scale, or a scanner in serial mode)",
            Self::Other => "other",
        }
    }
}

/// Where sysfs and the device nodes are.
#[derive(Debug, Clone)]
pub struct Roots {
    pub sys: PathBuf,
    pub dev: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            sys: "/sys".into(),
            dev: "/dev".into(),
        }
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

fn hex16(s: &str) -> Option<u16> {
    u16::from_str_radix(s.trim(), 16).ok()
}

/// Whether this user may read and write the node; the reason when not.
fn access_note(node: &Path) -> Option<String> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(node)
    {
        Ok(_) => None,
        Err(e) => Some(
            crate::transport::TransportError::opening(&node.display().to_string(), e).to_string(),
        ),
    }
}

/// USB serial ports as the OS lists them (Windows' COM ports, macOS's /dev/cu.* devices).
#[cfg(any(windows, target_os = "macos"))]
fn os_serial_ports() -> Vec<Found> {
    serialport::available_ports()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| match p.port_type {
            serialport::SerialPortType::UsbPort(usb) => Some(Found {
                id: format!("serial:{}", p.port_name),
                kind: FoundKind::SerialPort,
                name: usb.product.unwrap_or_else(|| p.port_name.clone()),
                transport: "serial",
                vendor_id: Some(usb.vid),
                product_id: Some(usb.pid),
                note: None,
            }),
            _ => None,
        })
        .collect()
}

/// Every device the bench may care about, scales and scanners first.
pub fn discover(roots: &Roots) -> Vec<Found> {
    let mut out = hid_devices(roots);
    out.extend(usb_printers(roots));
    out.extend(serial_ports(roots));
    // Windows and macOS have no sysfs: hidapi lists HID devices, serialport the COM ports
    // and /dev/cu.* ports.
    #[cfg(any(windows, target_os = "macos"))]
    {
        out.extend(crate::transport::hidapi::devices());
        out.extend(os_serial_ports());
    }
    let rank = |k: FoundKind| match k {
        FoundKind::Scale => 0,
        FoundKind::BarcodeScanner => 1,
        FoundKind::Printer => 2,
        FoundKind::SerialPort => 3,
        FoundKind::Keyboard => 4,
        FoundKind::Other => 5,
    };
    out.sort_by(|a, b| rank(a.kind).cmp(&rank(b.kind)).then(a.id.cmp(&b.id)));
    out
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// `/sys/class/hidraw/hidrawN/device/{report_descriptor,uevent}`.
pub fn hid_devices(roots: &Roots) -> Vec<Found> {
    entries(&roots.sys.join("class/hidraw"))
        .into_iter()
        .filter_map(|entry| {
            let node_name = entry.file_name()?.to_str()?.to_owned();
            let device = entry.join("device");
            let descriptor = std::fs::read(device.join("report_descriptor")).ok()?;
            let kind = match hid::applications(&descriptor).map(|a| hid::classify(&a)) {
                Ok(HidKind::Scale) => FoundKind::Scale,
                Ok(HidKind::BarcodeScanner) => FoundKind::BarcodeScanner,
                Ok(HidKind::Keyboard) => FoundKind::Keyboard,
                _ => FoundKind::Other,
            };
            let uevent = read(&device.join("uevent")).unwrap_or_default();
            let field = |k: &str| {
                uevent
                    .lines()
                    .find_map(|l| l.strip_prefix(k).map(str::to_owned))
            };
            // HID_ID=0003:00000922:00008003 (bus, vendor, product).
            let ids: Vec<String> = field("HID_ID=")
                .map(|v| v.split(':').map(str::to_owned).collect())
                .unwrap_or_default();
            let id_at = |i: usize| {
                ids.get(i)
                    .and_then(|v| u32::from_str_radix(v, 16).ok())
                    .and_then(|v| u16::try_from(v).ok())
            };
            let node = roots.dev.join(&node_name);
            Some(Found {
                id: format!("hid:{}", node.display()),
                kind,
                name: field("HID_NAME=").unwrap_or_else(|| node_name.clone()),
                transport: "hid",
                vendor_id: id_at(1),
                product_id: id_at(2),
                note: (kind != FoundKind::Keyboard)
                    .then(|| access_note(&node))
                    .flatten(),
            })
        })
        .collect()
}

/// Whether a hidraw node's reports start with a report id (its descriptor declares ids);
/// `None` when its descriptor cannot be read.
pub fn hid_numbered(roots: &Roots, node: &Path) -> Option<bool> {
    let name = node.file_name()?;
    let descriptor = std::fs::read(
        roots
            .sys
            .join("class/hidraw")
            .join(name)
            .join("device/report_descriptor"),
    )
    .ok()?;
    let apps = hid::applications(&descriptor).ok()?;
    Some(apps.iter().any(|a| !a.report_ids.is_empty()))
}

/// Whether the HID device `hid:PATH` numbers its reports; `None` when its descriptor cannot be
/// read.
pub fn numbered(path: &str) -> Option<bool> {
    #[cfg(any(windows, target_os = "macos"))]
    return crate::transport::Hid::open(path).ok()?.numbered();
    #[cfg(not(any(windows, target_os = "macos")))]
    return hid_numbered(&Roots::default(), Path::new(path));
}

/// The OS's print queues (CUPS's, or Windows' printers), as `spool:NAME` printers. Empty when
/// there is no spooler.
pub fn spool_printers() -> Vec<Found> {
    crate::spooler::queues()
        .unwrap_or_default()
        .into_iter()
        .map(|name| Found {
            id: format!("spool:{name}"),
            kind: FoundKind::Printer,
            name: format!("{name} (print queue)"),
            transport: "spool",
            vendor_id: None,
            product_id: None,
            note: None,
        })
        .collect()
}

/// USB devices with a printer-class (07) interface: `/sys/bus/usb/devices/1-2` (the device:
/// idVendor, idProduct, manufacturer, product) and `1-2:1.0` (its interfaces).
pub fn usb_printers(roots: &Roots) -> Vec<Found> {
    let base = roots.sys.join("bus/usb/devices");
    let mut out: Vec<Found> = Vec::new();
    for interface in entries(&base) {
        let Some(name) = interface.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((device_name, _)) = name.split_once(':') else {
            continue;
        };
        if read(&interface.join("bInterfaceClass")).as_deref() != Some("07") {
            continue;
        }
        let device = base.join(device_name);
        let (Some(vendor), Some(product)) = (
            read(&device.join("idVendor")).and_then(|v| hex16(&v)),
            read(&device.join("idProduct")).and_then(|v| hex16(&v)),
        ) else {
            continue;
        };
        let id = format!("usb:{vendor:04x}:{product:04x}");
        if out.iter().any(|f| f.id == id) {
            continue;
        }
        let name = [
            read(&device.join("manufacturer")),
            read(&device.join("product")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        // The kernel's usblp driver shows as usbmisc/lpN under the interface.
        let usblp = entries(&interface.join("usbmisc"))
            .into_iter()
            .find_map(|p| p.file_name()?.to_str().map(str::to_owned));
        let bus = read(&device.join("busnum")).and_then(|v| v.parse::<u32>().ok());
        let addr = read(&device.join("devnum")).and_then(|v| v.parse::<u32>().ok());
        let access = match (bus, addr) {
            (Some(b), Some(a)) => access_note(&roots.dev.join(format!("bus/usb/{b:03}/{a:03}"))),
            _ => None,
        };
        let note = match (access, usblp) {
            (Some(a), _) => Some(a),
            (None, Some(lp)) => Some(format!(
                "the kernel's printer driver has it as /dev/usb/{lp}; Packbench takes it over while printing and gives it back"
            )),
            (None, None) => None,
        };
        out.push(Found {
            id,
            kind: FoundKind::Printer,
            name: if name.is_empty() {
                format!("USB printer {vendor:04x}:{product:04x}")
            } else {
                name
            },
            transport: "usb",
            vendor_id: Some(vendor),
            product_id: Some(product),
            note,
        });
    }
    out
}

/// USB serial ports (`ttyUSB*` from USB-serial adapters, `ttyACM*` from CDC devices).
pub fn serial_ports(roots: &Roots) -> Vec<Found> {
    entries(&roots.sys.join("class/tty"))
        .into_iter()
        .filter_map(|entry| {
            let name = entry.file_name()?.to_str()?.to_owned();
            if !(name.starts_with("ttyUSB") || name.starts_with("ttyACM")) {
                return None;
            }
            // The USB device is up the tree from the tty's interface: ../ for ACM, ../../ for
            // usb-serial adapters.
            let device = entry.join("device");
            let usb = [device.join(".."), device.join("../..")]
                .into_iter()
                .find(|d| d.join("idVendor").exists());
            let (vendor, product, label) = match &usb {
                Some(d) => (
                    read(&d.join("idVendor")).and_then(|v| hex16(&v)),
                    read(&d.join("idProduct")).and_then(|v| hex16(&v)),
                    [read(&d.join("manufacturer")), read(&d.join("product"))]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                None => (None, None, String::new()),
            };
            let node = roots.dev.join(&name);
            Some(Found {
                id: format!("serial:{}", node.display()),
                kind: FoundKind::SerialPort,
                name: if label.is_empty() {
                    name.clone()
                } else {
                    label
                },
                transport: "serial",
                vendor_id: vendor,
                product_id: product,
                note: access_note(&node),
            })
        })
        .collect()
}

// The trees are made with symlinks, as sysfs has them.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::hid::tests::{KEYBOARD, SCALE, SCANNER};

    fn write(path: &Path, content: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// A made-up machine: a Dymo scale, a Honeywell scanner, a keyboard on hidraw; a Zebra
    /// printer held by usblp; an FTDI serial adapter; and the nodes they name.
    fn machine() -> (tempfile::TempDir, Roots) {
        let t = tempfile::tempdir().unwrap();
        let sys = t.path().join("sys");
        let dev = t.path().join("dev");
        for (n, descriptor, id, name) in [
            (
                0,
                KEYBOARD,
                "0003:0000046D:0000C31C",
                "Logitech USB Keyboard",
            ),
            (
                1,
                SCALE,
                "0003:00000922:00008003",
                "DYMO M10 10 Kg Digital Postal Scale",
            ),
            (
                2,
                SCANNER,
                "0003:00000C2E:00000B61",
                "Honeywell Imaging Xenon 1900",
            ),
        ] {
            let d = sys.join(format!("class/hidraw/hidraw{n}/device"));
            write(&d.join("report_descriptor"), descriptor);
            write(
                &d.join("uevent"),
                format!("DRIVER=hid-generic\nHID_ID={id}\nHID_NAME={name}\n").as_bytes(),
            );
            write(&dev.join(format!("hidraw{n}")), b"");
        }
        let usb = sys.join("bus/usb/devices");
        for (k, v) in [
            ("idVendor", "0a5f"),
            ("idProduct", "0166"),
            ("manufacturer", "Zebra Technologies"),
            ("product", "ZTC ZD420-203dpi ZPL"),
            ("busnum", "1"),
            ("devnum", "7"),
        ] {
            write(&usb.join("1-2").join(k), v.as_bytes());
        }
        write(&usb.join("1-2:1.0/bInterfaceClass"), b"07\n");
        std::fs::create_dir_all(usb.join("1-2:1.0/usbmisc/lp0")).unwrap();
        write(&dev.join("bus/usb/001/007"), b"");
        // A hub's interface (class 09) is not a printer.
        write(&usb.join("1-0:1.0/bInterfaceClass"), b"09\n");
        // ttyUSB0 under an FTDI adapter: class/tty/ttyUSB0/device = the usb-serial port,
        // whose grandparent is the USB device.
        let ftdi = t.path().join("sys/devices/usb1/1-3");
        write(&ftdi.join("idVendor"), b"0403");
        write(&ftdi.join("idProduct"), b"6001");
        write(&ftdi.join("product"), b"FT232R USB UART");
        std::fs::create_dir_all(ftdi.join("1-3:1.0/ttyUSB0")).unwrap();
        std::fs::create_dir_all(sys.join("class/tty")).unwrap();
        std::os::unix::fs::symlink(ftdi.join("1-3:1.0/ttyUSB0"), sys.join("class/tty/ttyUSB0"))
            .unwrap();
        std::os::unix::fs::symlink(
            ftdi.join("1-3:1.0/ttyUSB0"),
            ftdi.join("1-3:1.0/ttyUSB0/device"),
        )
        .unwrap();
        write(&dev.join("ttyUSB0"), b"");
        std::fs::create_dir_all(sys.join("class/tty/tty1")).unwrap();
        (t, Roots { sys, dev })
    }

    #[test]
    fn a_bench_is_found_for_what_it_is() {
        let (_t, roots) = machine();
        let found = discover(&roots);
        let summary: Vec<(FoundKind, &str, Option<u16>)> = found
            .iter()
            .map(|f| (f.kind, f.transport, f.vendor_id))
            .collect();
        assert_eq!(
            summary,
            vec![
                (FoundKind::Scale, "hid", Some(0x0922)),
                (FoundKind::BarcodeScanner, "hid", Some(0x0C2E)),
                (FoundKind::Printer, "usb", Some(0x0A5F)),
                (FoundKind::SerialPort, "serial", Some(0x0403)),
                (FoundKind::Keyboard, "hid", Some(0x046D)),
            ]
        );
        let scale = &found[0];
        assert_eq!(scale.name, "DYMO M10 10 Kg Digital Postal Scale");
        assert!(scale.id.starts_with("hid:") && scale.id.ends_with("/dev/hidraw1"));
        assert_eq!(scale.product_id, Some(0x8003));
        let printer = &found[2];
        assert_eq!(printer.id, "usb:0a5f:0166");
        assert_eq!(printer.name, "Zebra Technologies ZTC ZD420-203dpi ZPL");
        assert!(printer.note.as_deref().unwrap().contains("/dev/usb/lp0"));
        assert_eq!(found[3].name, "FT232R USB UART");
        assert!(found[3].id.ends_with("/dev/ttyUSB0"));
    }

    #[test]
    fn a_node_that_cannot_be_opened_says_why() {
        let (_t, roots) = machine();
        std::fs::remove_file(roots.dev.join("hidraw1")).unwrap();
        let found = hid_devices(&roots);
        let scale = found.iter().find(|f| f.kind == FoundKind::Scale).unwrap();
        assert!(
            scale.note.as_deref().unwrap().contains("not found"),
            "{:?}",
            scale.note
        );
    }

    #[test]
    fn numbered_reports_are_known_from_the_descriptor() {
        let (_t, roots) = machine();
        assert_eq!(hid_numbered(&roots, &roots.dev.join("hidraw2")), Some(true));
        assert_eq!(
            hid_numbered(&roots, &roots.dev.join("hidraw0")),
            Some(false)
        );
        assert_eq!(hid_numbered(&roots, &roots.dev.join("hidraw9")), None);
    }

    #[test]
    fn an_empty_machine_has_nothing() {
        let t = tempfile::tempdir().unwrap();
        let roots = Roots {
            sys: t.path().join("sys"),
            dev: t.path().join("dev"),
        };
        assert!(discover(&roots).is_empty());
    }
}

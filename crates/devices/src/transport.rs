//! Where device bytes go: a small trait, with raw TCP (port 9100 printers), serial ports,
//! Linux hidraw nodes (HID scales and scanners: no driver to detach, a udev rule is enough),
//! USB printers through libusb (rusb: the printer-class interface's bulk endpoints, taken from
//! the kernel's `usblp` driver while printing), and a scripted transport that replays recorded
//! reads and records writes, for tests. Errors name the cause: no permission (with the udev
//! rule to install), busy (another driver holds it), not found, unplugged.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Where Packbench's udev rules are installed by the .deb.
pub const UDEV_RULES: &str = "/usr/lib/udev/rules.d/60-packbench.rules";

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("could not reach {target}: {source}")]
    Connect {
        target: String,
        source: std::io::Error,
    },
    #[error(
        "no permission to use {target}: install Packbench's udev rules ({UDEV_RULES}, part of the .deb; or copy packaging/60-packbench.rules there), run `sudo udevadm control --reload && sudo udevadm trigger`, and plug the device in again"
    )]
    NoPermission { target: String },
    #[error("{target} is busy: {detail}")]
    Busy { target: String, detail: String },
    #[error("{target} was not found: is it plugged in and switched on?")]
    NotFound { target: String },
    #[error("{target} was unplugged")]
    Unplugged { target: String },
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
}

impl TransportError {
    /// An error opening `target`, by its cause.
    pub fn opening(target: &str, e: std::io::Error) -> Self {
        let target = target.to_owned();
        match e.kind() {
            ErrorKind::PermissionDenied => Self::NoPermission { target },
            ErrorKind::NotFound => Self::NotFound { target },
            ErrorKind::ResourceBusy => Self::Busy {
                target,
                detail: "another program has it open".into(),
            },
            _ => Self::Connect { target, source: e },
        }
    }

    /// A libusb error on `target`, by its cause.
    pub fn usb(target: &str, e: rusb::Error) -> Self {
        let target = target.to_owned();
        match e {
            rusb::Error::Access => Self::NoPermission { target },
            rusb::Error::NotFound => Self::NotFound { target },
            rusb::Error::NoDevice => Self::Unplugged { target },
            rusb::Error::Busy => Self::Busy {
                target,
                detail: "another driver holds it (the kernel's usblp, or CUPS's usb backend printing); stop that queue or unplug and replug".into(),
            },
            other => Self::Connect {
                target,
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}

pub trait Transport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError>;
    fn flush(&mut self) -> Result<(), TransportError>;
    /// Reads what is there within `timeout`; `Ok(0)` when nothing came.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;
}

/// A raw TCP connection (JetDirect, port 9100).
pub struct Tcp(TcpStream);

impl Tcp {
    pub fn connect(target: &str, timeout: Duration) -> Result<Self, TransportError> {
        let err = |source| TransportError::Connect {
            target: target.to_owned(),
            source,
        };
        let addr = target
            .to_socket_addrs()
            .map_err(err)?
            .next()
            .ok_or_else(|| err(std::io::Error::new(ErrorKind::NotFound, "no address")))?;
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(err)?;
        stream.set_nodelay(true)?;
        Ok(Self(stream))
    }
}

impl Transport for Tcp {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        Ok(self.0.write_all(bytes)?)
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(self.0.flush()?)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.0
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match self.0.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// Replays scripted reads (one chunk per read; then silence) and keeps what was written.
pub struct Scripted {
    reads: std::collections::VecDeque<Vec<u8>>,
    written: Vec<u8>,
}

impl Scripted {
    pub fn new(reads: Vec<Vec<u8>>) -> Self {
        Self {
            reads: reads.into(),
            written: Vec::new(),
        }
    }
    pub fn written(&self) -> &[u8] {
        &self.written
    }
}

impl Transport for Scripted {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.written.extend_from_slice(bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<usize, TransportError> {
        let Some(mut chunk) = self.reads.pop_front() else {
            return Ok(0);
        };
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        if n < chunk.len() {
            self.reads.push_front(chunk.split_off(n));
        }
        Ok(n)
    }
}

/// A serial port (a serial scale, a scanner in serial mode, a USB-serial adapter).
pub struct Serial(Box<dyn serialport::SerialPort>);

/// Serial settings as scales use them: NCI scales are 7E1, MT-SICS 8N1 (both usually 9600).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialSettings {
    pub baud: u32,
    pub seven_even: bool,
}

impl Serial {
    pub fn open(path: &str, s: SerialSettings) -> Result<Self, TransportError> {
        let (bits, parity) = if s.seven_even {
            (serialport::DataBits::Seven, serialport::Parity::Even)
        } else {
            (serialport::DataBits::Eight, serialport::Parity::None)
        };
        let port = serialport::new(path, s.baud)
            .data_bits(bits)
            .parity(parity)
            .stop_bits(serialport::StopBits::One)
            .timeout(Duration::from_millis(200))
            .open()
            .map_err(|e| TransportError::Connect {
                target: path.to_owned(),
                source: e.into(),
            })?;
        Ok(Self(port))
    }

    /// Wraps an already open port (tests use a pseudo-terminal pair).
    pub fn from_port(port: Box<dyn serialport::SerialPort>) -> Self {
        Self(port)
    }
}

impl Transport for Serial {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        Ok(self.0.write_all(bytes)?)
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(self.0.flush()?)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.0
            .set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(|e| TransportError::Io(e.into()))?;
        match self.0.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// A Linux hidraw node (`/dev/hidrawN`): whole HID reports in and out, no driver to detach.
#[cfg(unix)]
pub struct Hidraw {
    path: String,
    file: std::fs::File,
}

#[cfg(unix)]
impl Hidraw {
    pub fn open(path: &str) -> Result<Self, TransportError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| TransportError::opening(path, e))?;
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }
}

/// Waits until `file` has something to read, for at most `timeout`: false when nothing came.
#[cfg(unix)]
fn readable(file: &std::fs::File, timeout: Duration) -> std::io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(file, PollFlags::IN)];
    let t = Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    match poll(&mut fds, Some(&t)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(unix)]
impl Transport for Hidraw {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        Ok(self.file.write_all(bytes)?)
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    /// One report per read (the kernel hands hidraw reports whole).
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        if !readable(&self.file, timeout)? {
            return Ok(0);
        }
        match self.file.read(buf) {
            Ok(n) => Ok(n),
            // ENODEV: the device went away under us.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NODEV.raw_os_error()) => {
                Err(TransportError::Unplugged {
                    target: self.path.clone(),
                })
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// A USB printer through libusb: its printer-class (07) interface, claimed (the kernel's usblp
/// driver is detached while Packbench holds it and given back when it lets go); jobs go to the
/// bulk OUT endpoint, `~HS` answers come from the bulk IN endpoint of bidirectional printers.
pub struct UsbPrinter {
    target: String,
    handle: rusb::DeviceHandle<rusb::GlobalContext>,
    interface: u8,
    out: u8,
    inp: Option<u8>,
}

/// Bulk writes go in pieces this big, each with its own timeout.
const USB_CHUNK: usize = 16 * 1024;

impl UsbPrinter {
    /// The first printer-class interface of the device `vendor:product`.
    pub fn open(vendor: u16, product: u16) -> Result<Self, TransportError> {
        let target = format!("usb:{vendor:04x}:{product:04x}");
        let err = |e| TransportError::usb(&target, e);
        let device = rusb::devices()
            .map_err(err)?
            .iter()
            .find(|d| {
                d.device_descriptor()
                    .is_ok_and(|dd| dd.vendor_id() == vendor && dd.product_id() == product)
            })
            .ok_or_else(|| TransportError::NotFound {
                target: target.clone(),
            })?;
        let config = device.active_config_descriptor().map_err(err)?;
        let (interface, setting, endpoints) = config
            .interfaces()
            .flat_map(|i| i.descriptors())
            .find(|d| d.class_code() == 0x07)
            .map(|d| {
                let eps: Vec<(rusb::Direction, u8)> = d
                    .endpoint_descriptors()
                    .filter(|e| e.transfer_type() == rusb::TransferType::Bulk)
                    .map(|e| (e.direction(), e.address()))
                    .collect();
                (d.interface_number(), d.setting_number(), eps)
            })
            .ok_or_else(|| TransportError::Connect {
                target: target.clone(),
                source: std::io::Error::other("this USB device has no printer interface"),
            })?;
        let out = endpoints
            .iter()
            .find(|(d, _)| *d == rusb::Direction::Out)
            .map(|(_, a)| *a)
            .ok_or_else(|| TransportError::Connect {
                target: target.clone(),
                source: std::io::Error::other("the printer interface has no bulk OUT endpoint"),
            })?;
        let inp = endpoints
            .iter()
            .find(|(d, _)| *d == rusb::Direction::In)
            .map(|(_, a)| *a);
        let handle = device.open().map_err(err)?;
        // Not supported on every platform (macOS, Windows): then there is no kernel driver to
        // take it from.
        let _ = handle.set_auto_detach_kernel_driver(true);
        handle.claim_interface(interface).map_err(err)?;
        if setting != 0 {
            handle
                .set_alternate_setting(interface, setting)
                .map_err(err)?;
        }
        Ok(Self {
            target,
            handle,
            interface,
            out,
            inp,
        })
    }
}

impl UsbPrinter {
    /// Whether the printer can answer (`~HS`): it has a bulk IN endpoint.
    pub fn answers_status(&self) -> bool {
        self.inp.is_some()
    }
}

impl Drop for UsbPrinter {
    fn drop(&mut self) {
        let _ = self.handle.release_interface(self.interface);
    }
}

impl Transport for UsbPrinter {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        for chunk in bytes.chunks(USB_CHUNK) {
            let mut sent = 0;
            while sent < chunk.len() {
                sent += self
                    .handle
                    .write_bulk(self.out, &chunk[sent..], Duration::from_secs(10))
                    .map_err(|e| TransportError::usb(&self.target, e))?;
            }
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let Some(inp) = self.inp else {
            return Ok(0);
        };
        match self
            .handle
            .read_bulk(inp, buf, timeout.max(Duration::from_millis(1)))
        {
            Ok(n) => Ok(n),
            Err(rusb::Error::Timeout) => Ok(0),
            Err(e) => Err(TransportError::usb(&self.target, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_cause() {
        let e = TransportError::opening(
            "/dev/hidraw3",
            std::io::Error::from(ErrorKind::PermissionDenied),
        );
        assert!(e.to_string().contains("60-packbench.rules"), "{e}");
        let e = TransportError::opening("/dev/hidraw9", std::io::Error::from(ErrorKind::NotFound));
        assert!(e.to_string().contains("not found"), "{e}");
        let e = TransportError::usb("usb:0a5f:0166", rusb::Error::Busy);
        assert!(e.to_string().contains("another driver holds it"), "{e}");
        let e = TransportError::usb("usb:0a5f:0166", rusb::Error::Access);
        assert!(matches!(e, TransportError::NoPermission { .. }));
        let e = TransportError::usb("usb:0a5f:0166", rusb::Error::NoDevice);
        assert!(e.to_string().contains("unplugged"), "{e}");
    }

    #[test]
    fn an_absent_usb_printer_is_not_found() {
        // No USB device has vendor 0xFFFF; without a USB bus (a container) libusb may not even
        // start, which is said as an error too, never a panic.
        match UsbPrinter::open(0xFFFF, 0xFFFF) {
            Err(TransportError::NotFound { target }) => assert_eq!(target, "usb:ffff:ffff"),
            Err(other) => eprintln!("no USB here: {other}"),
            Ok(_) => panic!("found a device that cannot exist"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn hidraw_reads_whole_reports_and_times_out_quietly() {
        // A FIFO stands in for /dev/hidrawN: the same open, poll and read.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hidraw0");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let p = path.to_str().unwrap().to_owned();
        let mut h = Hidraw::open(&p).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(h.read(&mut buf, Duration::from_millis(20)).unwrap(), 0);
        h.write_all(&[0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03]).unwrap();
        let n = h.read(&mut buf, Duration::from_millis(200)).unwrap();
        assert_eq!(&buf[..n], &[0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03]);
        let missing = Hidraw::open(dir.path().join("hidraw9").to_str().unwrap());
        assert!(matches!(missing, Err(TransportError::NotFound { .. })));
    }
}

//! Where device bytes go: a small trait, with raw TCP (port 9100 printers), serial ports,
//! HID scales and scanners ([`Hid`]: Linux's hidraw nodes, hidapi on Windows and macOS), USB
//! printers through libusb (not on Windows, whose spooler owns them), and a scripted transport
//! that replays recorded reads and records writes, for tests. Errors name the cause: no
//! permission (with what grants it on this OS), busy (another driver holds it), not found,
//! unplugged.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

#[cfg(not(any(windows, target_os = "macos")))]
mod hidraw;
#[cfg(not(any(windows, target_os = "macos")))]
pub use hidraw::Hidraw as Hid;

#[cfg(any(windows, target_os = "macos"))]
pub mod hidapi;
#[cfg(any(windows, target_os = "macos"))]
pub use self::hidapi::Hid;

#[cfg(not(windows))]
mod usb;
#[cfg(not(windows))]
pub use usb::UsbPrinter;

/// What lets the packer's account open a device, on this OS.
#[cfg(not(any(windows, target_os = "macos")))]
const GRANT: &str = "install Packbench's udev rules (/usr/lib/udev/rules.d/60-packbench.rules, part of the .deb; or copy packaging/60-packbench.rules there), run `sudo udevadm control --reload && sudo udevadm trigger`, and plug the device in again";
#[cfg(target_os = "macos")]
const GRANT: &str = "allow Packbench under System Settings > Privacy & Security > Input Monitoring, then start it again";
#[cfg(windows)]
const GRANT: &str = "Windows keeps keyboards, and scanners in keyboard mode, to itself: set the scanner to HID point-of-sale mode (its manual has the barcode), or use it as a keyboard";

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("could not reach {target}: {source}")]
    Connect {
        target: String,
        source: std::io::Error,
    },
    #[error("no permission to use {target}: {GRANT}")]
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
}

pub trait Transport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError>;
    fn flush(&mut self) -> Result<(), TransportError>;
    /// Reads what is there within `timeout`; `Ok(0)` when nothing came.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;
}

/// Reads what is there; a read that times out is "nothing came" (`Ok(0)`), not an error.
fn read_or_nothing(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, TransportError> {
    match r.read(buf) {
        Ok(n) => Ok(n),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(0),
        Err(e) => Err(e.into()),
    }
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
        read_or_nothing(&mut self.0, buf)
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
        read_or_nothing(&mut self.0, buf)
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
        assert!(e.to_string().contains(GRANT), "{e}");
        #[cfg(target_os = "linux")]
        assert!(e.to_string().contains("60-packbench.rules"), "{e}");
        let e = TransportError::opening("/dev/hidraw9", std::io::Error::from(ErrorKind::NotFound));
        assert!(e.to_string().contains("not found"), "{e}");
    }
}

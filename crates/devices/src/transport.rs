//! Where device bytes go: a small trait, with raw TCP (port 9100 printers) and a scripted
//! transport that replays recorded reads and records writes, for tests. (USB and serial
//! transports come with the rest of the devices issue.)

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("could not reach {target}: {source}")]
    Connect {
        target: String,
        source: std::io::Error,
    },
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
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

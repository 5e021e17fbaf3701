//! A serial scale over any [`Transport`]: ask for a weight, read the answer to its terminator,
//! parse it with the sans-IO parsers of [`crate::scale`].

use std::time::Duration;

use packbench_core::devices::{DeviceId, SerialPort};

use crate::scale::{FrameError, Reading, ScaleStatus, parse_nci, parse_sics};
use crate::transport::{Transport, TransportError};

pub use packbench_core::devices::SerialProtocol;

/// What each serial protocol sends and answers (the protocol's name is core's, parsed with the
/// device's name; its bytes are here).
pub trait ScaleDialect: Copy {
    fn request(self) -> &'static [u8];
    /// The command that zeroes the scale.
    fn zero_request(self) -> &'static [u8];
    /// The parser of this protocol's answers.
    fn parser(self) -> fn(&[u8]) -> Result<Reading, FrameError>;
    /// Whether `answer` is a whole answer.
    fn complete(self, answer: &[u8]) -> bool;
    fn decode(self, answer: &[u8]) -> Result<Reading, FrameError>;
}

impl ScaleDialect for SerialProtocol {
    fn request(self) -> &'static [u8] {
        match self {
            Self::Nci => b"W\r",
            Self::Sics => b"S\r\n",
        }
    }
    fn zero_request(self) -> &'static [u8] {
        match self {
            Self::Nci => b"Z\r",
            Self::Sics => b"Z\r\n",
        }
    }
    fn parser(self) -> fn(&[u8]) -> Result<Reading, FrameError> {
        match self {
            Self::Nci => parse_nci,
            Self::Sics => parse_sics,
        }
    }
    fn complete(self, answer: &[u8]) -> bool {
        match self {
            Self::Nci => answer.contains(&0x03),
            Self::Sics => answer.ends_with(b"\r\n"),
        }
    }
    fn decode(self, answer: &[u8]) -> Result<Reading, FrameError> {
        match self {
            Self::Nci => parse_nci(answer),
            Self::Sics => parse_sics(answer),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WeighError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(
        "the scale did not answer within {0:?}: is it on, and is this the right port and speed?"
    )]
    NoAnswer(Duration),
    #[error("the scale's answer could not be read: {0}")]
    Frame(#[from] FrameError),
    #[error("no stable weight after {tries} readings (last: {})", last.describe())]
    NotStable { tries: u32, last: ScaleStatus },
}

/// One reading: sends the weight request and reads the whole answer.
pub fn read_once(
    t: &mut dyn Transport,
    p: SerialProtocol,
    timeout: Duration,
) -> Result<Reading, WeighError> {
    Ok(p.decode(&ask(t, p, timeout)?)?)
}

/// Sends the weight request and reads the whole answer, as bytes.
pub fn ask(
    t: &mut dyn Transport,
    p: SerialProtocol,
    timeout: Duration,
) -> Result<Vec<u8>, WeighError> {
    t.write_all(p.request())?;
    t.flush()?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 128];
    while !p.complete(&answer) {
        let n = t.read(&mut buf, timeout)?;
        if n == 0 {
            return Err(WeighError::NoAnswer(timeout));
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.len() > 1024 {
            break;
        }
    }
    Ok(answer)
}

/// A serial scale as the bench names it: `serial:PATH[?protocol=nci|sics&baud=N]` (NCI at
/// 9600 7E1 by default; SICS is 8N1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialScaleSpec {
    pub path: String,
    pub protocol: SerialProtocol,
    pub settings: crate::transport::SerialSettings,
}

impl SerialScaleSpec {
    pub fn parse(spec: &str) -> Result<Self, String> {
        match spec.parse::<DeviceId>().map_err(|e| e.to_string())? {
            DeviceId::Serial(port) => Ok(Self::of(&port)),
            _ => Err(format!(
                "`{spec}` is not a serial scale: serial:/dev/ttyUSB0[?protocol=nci|sics&baud=9600]"
            )),
        }
    }

    /// The scale on `port`: NCI at 9600 7E1 unless said otherwise; SICS is 8N1.
    pub fn of(port: &SerialPort) -> Self {
        let protocol = port.protocol.unwrap_or(SerialProtocol::Nci);
        Self {
            path: port.path.clone(),
            protocol,
            settings: crate::transport::SerialSettings {
                baud: port.baud.unwrap_or(9600),
                seven_even: protocol == SerialProtocol::Nci,
            },
        }
    }

    pub fn open(&self) -> Result<crate::transport::Serial, TransportError> {
        crate::transport::Serial::open(&self.path, self.settings)
    }
}

/// Asks until the scale settles on a usable package weight, at most `tries` times.
pub fn weigh_stable(
    t: &mut dyn Transport,
    p: SerialProtocol,
    tries: u32,
    timeout: Duration,
) -> Result<Reading, WeighError> {
    let mut last = ScaleStatus::InMotion;
    for _ in 0..tries.max(1) {
        let r = read_once(t, p, timeout)?;
        if r.package_weight().is_some() {
            return Ok(r);
        }
        last = r.status;
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(WeighError::NotStable { tries, last })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Scripted;

    #[test]
    fn a_settling_nci_scale_is_asked_again_until_stable() {
        let mut t = Scripted::new(vec![
            b"\n0002.40lb\r\nM0\r\x03".to_vec(),
            b"\n0002.50lb\r\n".to_vec(),
            b"00\r\x03".to_vec(),
        ]);
        let r = weigh_stable(&mut t, SerialProtocol::Nci, 5, Duration::from_millis(10)).unwrap();
        assert!((r.package_weight().unwrap().value() - 2.5).abs() < 1e-9);
        assert_eq!(t.written(), b"W\rW\r", "asked twice");
    }

    #[test]
    fn serial_scale_names_are_read_or_refused() {
        let s = SerialScaleSpec::parse("serial:/dev/ttyUSB0?protocol=sics&baud=4800").unwrap();
        assert_eq!(
            (
                s.path.as_str(),
                s.protocol,
                s.settings.baud,
                s.settings.seven_even
            ),
            ("/dev/ttyUSB0", SerialProtocol::Sics, 4800, false)
        );
        let d = SerialScaleSpec::parse("serial:/dev/ttyACM0").unwrap();
        assert_eq!(
            (d.protocol, d.settings.seven_even),
            (SerialProtocol::Nci, true)
        );
        for bad in [
            "usb:1:2",
            "serial:",
            "serial:/dev/x?protocol=x",
            "serial:/dev/x?speed=1",
        ] {
            assert!(SerialScaleSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn silence_and_an_empty_scale_are_errors_with_causes() {
        let mut silent = Scripted::new(vec![]);
        assert!(matches!(
            read_once(&mut silent, SerialProtocol::Sics, Duration::from_millis(5)),
            Err(WeighError::NoAnswer(_))
        ));
        let mut empty = Scripted::new(vec![b"S S      0.00 g\r\n".to_vec(); 2]);
        let e = weigh_stable(
            &mut empty,
            SerialProtocol::Sics,
            2,
            Duration::from_millis(5),
        )
        .unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }
}

//! One thread owns a scanner that is not a keyboard — a HID POS scanner's hidraw node, or a
//! scanner in serial mode — and publishes each scan (with its symbology) and each change of
//! state (ready, unplugged with the reason). It opens the scanner again after an unplug.
//! Keyboard-wedge scanners need no task: their scans arrive in the window as typing.

use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde::Serialize;

use crate::scanner::{HidScanner, Scan, SerialScanner};
use crate::task::{DeviceThread, Opener, Step, supervise};

/// How a scanner talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScannerProtocol {
    /// HID POS scanned-data reports; `numbered` when they start with a report id.
    Hid { numbered: bool },
    /// Lines of text (CR / LF), an AIM identifier in front when the scanner sends one.
    Serial,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScannerEvent {
    Ready,
    Unplugged { problem: String },
    Scan(Scan),
}

#[derive(Debug, Clone, Copy)]
enum Command {
    Stop,
}

/// The running task; dropping it stops the thread.
pub struct ScannerTask {
    _thread: DeviceThread<Command>,
}

impl ScannerTask {
    pub fn start(
        open: Opener,
        protocol: ScannerProtocol,
        publish: impl Fn(ScannerEvent) + Send + 'static,
        reopen_every: Duration,
    ) -> Self {
        Self {
            _thread: DeviceThread::spawn("packbench-scanner", Command::Stop, move |rx| {
                run(open, protocol, &publish, &rx, reopen_every)
            }),
        }
    }
}

fn run(
    open: Opener,
    protocol: ScannerProtocol,
    publish: &dyn Fn(ScannerEvent),
    commands: &Receiver<Command>,
    reopen_every: Duration,
) {
    let mut last_problem: Option<String> = None;
    supervise(
        open,
        commands,
        |c| matches!(c, Command::Stop),
        reopen_every,
        |step| match step {
            Step::Lost(problem) => {
                if last_problem.as_ref() != Some(&problem) {
                    publish(ScannerEvent::Unplugged {
                        problem: problem.clone(),
                    });
                    last_problem = Some(problem);
                }
                Ok(())
            }
            Step::Opened(mut scanner) => {
                last_problem = None;
                publish(ScannerEvent::Ready);
                let (mut hid, mut serial) = (
                    HidScanner::new(matches!(protocol, ScannerProtocol::Hid { numbered: true })),
                    SerialScanner::new(),
                );
                let mut buf = [0u8; 256];
                loop {
                    if !matches!(commands.try_recv(), Err(mpsc::TryRecvError::Empty)) {
                        return Ok(());
                    }
                    let n = scanner.read(&mut buf, Duration::from_millis(100))?;
                    if n == 0 {
                        continue;
                    }
                    let scans = match protocol {
                        ScannerProtocol::Hid { .. } => hid.report(&buf[..n]).into_iter().collect(),
                        ScannerProtocol::Serial => serial.bytes(&buf[..n]),
                    };
                    for scan in scans {
                        publish(ScannerEvent::Scan(scan));
                    }
                }
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::scanner::Symbology;
    use crate::transport::{Scripted, Transport, TransportError};

    struct Unplugs(Scripted);

    impl Transport for Unplugs {
        fn write_all(&mut self, _: &[u8]) -> Result<(), TransportError> {
            Ok(())
        }
        fn flush(&mut self) -> Result<(), TransportError> {
            Ok(())
        }
        fn read(&mut self, buf: &mut [u8], t: Duration) -> Result<usize, TransportError> {
            match self.0.read(buf, t)? {
                0 => Err(TransportError::Unplugged {
                    target: "hid:/dev/hidraw2".into(),
                }),
                n => Ok(n),
            }
        }
    }

    fn report(aim: &str, data: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; 64];
        r[0] = 0x02;
        r[1] = data.len() as u8;
        r[2..5].copy_from_slice(aim.as_bytes());
        r[5..5 + data.len()].copy_from_slice(data);
        r
    }

    #[test]
    fn scans_are_published_and_an_unplugged_scanner_comes_back() {
        let opened = Arc::new(Mutex::new(0));
        let o = opened.clone();
        let open: Opener = Box::new(move || {
            let mut n = o.lock().unwrap();
            *n += 1;
            if *n == 2 {
                return Err(TransportError::NotFound {
                    target: "hid:/dev/hidraw2".into(),
                });
            }
            Ok(Box::new(Unplugs(Scripted::new(vec![
                report("]E0", b"0036000291452"),
                report("]C0", b"PB-1001"),
            ]))) as Box<dyn Transport + Send>)
        });
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let _task = ScannerTask::start(
            open,
            ScannerProtocol::Hid { numbered: true },
            move |e| {
                let _ = tx.lock().unwrap().send(e);
            },
            Duration::from_millis(20),
        );
        let mut seen = Vec::new();
        while seen.len() < 8 {
            seen.push(rx.recv_timeout(Duration::from_secs(5)).unwrap());
        }
        let words: Vec<String> = seen
            .iter()
            .map(|e| match e {
                ScannerEvent::Ready => "ready".into(),
                ScannerEvent::Unplugged { problem } => format!("unplugged: {problem}"),
                ScannerEvent::Scan(s) => format!("{:?} {}", s.symbology, s.data),
            })
            .collect();
        assert_eq!(
            words[..7],
            [
                "ready",
                "Ean13 0036000291452",
                "Code128 PB-1001",
                "unplugged: hid:/dev/hidraw2 was unplugged",
                "unplugged: hid:/dev/hidraw2 was not found: is it plugged in and switched on?",
                "ready",
                "Ean13 0036000291452",
            ]
        );
        let ScannerEvent::Scan(s) = &seen[1] else {
            unreachable!()
        };
        assert_eq!(s.symbology, Symbology::Ean13);
    }

    #[test]
    fn a_serial_scanner_sends_lines() {
        let open: Opener = Box::new(|| {
            Ok(Box::new(Scripted::new(vec![b"]C1\x1d0109501101530003\r\n".to_vec()])) as _)
        });
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let _task = ScannerTask::start(
            open,
            ScannerProtocol::Serial,
            move |e| {
                let _ = tx.lock().unwrap().send(e);
            },
            Duration::from_millis(20),
        );
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            ScannerEvent::Ready
        );
        let ScannerEvent::Scan(s) = rx.recv_timeout(Duration::from_secs(5)).unwrap() else {
            panic!("a scan")
        };
        assert_eq!(s.symbology, Symbology::Gs1_128);
        assert_eq!(s.product_code().unwrap().as_str(), "09501101530003");
    }
}

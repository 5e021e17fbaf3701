//! A printer as the bench names it — `tcp://HOST[:PORT]`, `usb:VID:PID`, `spool:QUEUE` — and
//! what can be asked of it: print a label (ZPL) or a document (PDF), and say its state. Label
//! printers are asked `~HS` before a label goes (silence is an error, not "ready"); the
//! spooler's queue state is read from CUPS.

use std::time::Duration;

use packbench_core::devices::DeviceId;
use serde::Serialize;

use crate::printer::{self, PrintError, PrinterProblem};
use crate::spooler::{self, SpoolError};
#[cfg(not(windows))]
use crate::transport::UsbPrinter;
use crate::transport::{Tcp, TransportError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTarget {
    /// A networked label printer, raw port 9100 by default.
    Tcp(String),
    /// A USB label printer, by vendor and product id.
    Usb { vendor: u16, product: u16 },
    /// An OS print queue (CUPS): labels go raw, PDFs are rendered by the spooler.
    Spool(String),
}

/// What is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job<'a> {
    /// Printer language for a label printer (ZPL).
    Label(&'a [u8]),
    /// A PDF (packing slips, labels on plain paper) for a laser printer through the spooler.
    Document(&'a [u8]),
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(
        "`{0}` is not a printer: use tcp://HOST[:PORT], usb:VID:PID (hex, as `packbench-device list` shows) or spool:QUEUE"
    )]
    Unknown(String),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Print(#[from] PrintError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("the printer cannot print: {0}")]
    NotReady(String),
    #[error(
        "on Windows a USB printer prints through its driver: install it (Zebra's is ZDesigner), then choose the printer by its Windows name (spool:NAME, as the Devices screen lists it)"
    )]
    UsbOnWindows,
    #[error(
        "a PDF goes to a document printer through the spooler (--to spool:QUEUE); a label printer takes ZPL or an image"
    )]
    PdfToLabelPrinter,
}

/// A printer's state, in words and as a word the station's UI keys on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetStatus {
    /// ready, paper_out, head_open, paused, buffer_full, stopped, unknown
    pub state: &'static str,
    pub message: String,
}

impl TargetStatus {
    pub fn ready(&self) -> bool {
        self.state == "ready"
    }
}

impl PrinterTarget {
    pub fn parse(s: &str) -> Result<Self, TargetError> {
        s.parse::<DeviceId>()
            .ok()
            .and_then(|id| Self::of(&id))
            .ok_or_else(|| TargetError::Unknown(s.to_owned()))
    }

    /// The printer a device name names, if it names a real one (not the simulated printer).
    pub fn of(id: &DeviceId) -> Option<Self> {
        match id {
            DeviceId::Tcp(addr) => Some(Self::Tcp(addr.clone())),
            DeviceId::Usb { vendor, product } => Some(Self::Usb {
                vendor: *vendor,
                product: *product,
            }),
            DeviceId::Spool(queue) => Some(Self::Spool(queue.clone())),
            _ => None,
        }
    }

    pub fn id(&self) -> String {
        match self {
            Self::Tcp(a) => format!("tcp://{a}"),
            Self::Usb { vendor, product } => format!("usb:{vendor:04x}:{product:04x}"),
            Self::Spool(q) => format!("spool:{q}"),
        }
    }

    /// Prints: a label printer is asked its status first and refuses plainly if it cannot.
    pub fn print(&self, job: Job<'_>, timeout: Duration) -> Result<(), TargetError> {
        match (self, job) {
            (Self::Spool(q), Job::Label(b)) => Ok(spooler::print(q, b, true)?),
            (Self::Spool(q), Job::Document(b)) => Ok(spooler::print(q, b, false)?),
            (_, Job::Document(_)) => Err(TargetError::PdfToLabelPrinter),
            (Self::Tcp(addr), Job::Label(b)) => {
                let mut t = Tcp::connect(addr, timeout)?;
                let s = printer::query_status(&mut t, timeout)?;
                if !s.ready() {
                    return Err(TargetError::NotReady(words(&s.problems)));
                }
                Ok(printer::send_job(&mut t, b)?)
            }
            #[cfg(windows)]
            (Self::Usb { .. }, Job::Label(_)) => Err(TargetError::UsbOnWindows),
            #[cfg(not(windows))]
            (Self::Usb { vendor, product }, Job::Label(b)) => {
                let mut t = UsbPrinter::open(*vendor, *product)?;
                // A printer without a way back (no bulk IN) cannot be asked.
                if t.answers_status() {
                    let s = printer::query_status(&mut t, timeout)?;
                    if !s.ready() {
                        return Err(TargetError::NotReady(words(&s.problems)));
                    }
                }
                Ok(printer::send_job(&mut t, b)?)
            }
        }
    }

    pub fn status(&self, timeout: Duration) -> Result<TargetStatus, TargetError> {
        match self {
            Self::Tcp(addr) => {
                let mut t = Tcp::connect(addr, timeout)?;
                Ok(view(&printer::query_status(&mut t, timeout)?.problems))
            }
            #[cfg(windows)]
            Self::Usb { .. } => Err(TargetError::UsbOnWindows),
            #[cfg(not(windows))]
            Self::Usb { vendor, product } => {
                let mut t = UsbPrinter::open(*vendor, *product)?;
                if !t.answers_status() {
                    return Ok(TargetStatus {
                        state: "unknown",
                        message: "connected; this printer does not report its state over USB"
                            .into(),
                    });
                }
                Ok(view(&printer::query_status(&mut t, timeout)?.problems))
            }
            Self::Spool(q) => {
                let s = spooler::status(q)?;
                Ok(TargetStatus {
                    state: match &s {
                        spooler::QueueState::Idle | spooler::QueueState::Printing { .. } => "ready",
                        spooler::QueueState::Disabled { .. } => "stopped",
                        spooler::QueueState::Unknown => "unknown",
                    },
                    message: s.describe(),
                })
            }
        }
    }
}

fn words(problems: &[PrinterProblem]) -> String {
    problems
        .iter()
        .map(|p| p.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A label printer's `~HS` problems as a status.
pub fn view(problems: &[PrinterProblem]) -> TargetStatus {
    let state = match problems.first() {
        None => {
            return TargetStatus {
                state: "ready",
                message: "ready".into(),
            };
        }
        Some(PrinterProblem::PaperOut) => "paper_out",
        Some(PrinterProblem::HeadOpen) => "head_open",
        Some(PrinterProblem::Paused) => "paused",
        Some(PrinterProblem::BufferFull) => "buffer_full",
        Some(_) => "unknown",
    };
    TargetStatus {
        state,
        message: format!("the printer cannot print: {}", words(problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_parsed_or_refused_with_the_forms_that_work() {
        assert_eq!(
            PrinterTarget::parse("tcp://10.0.0.5").unwrap(),
            PrinterTarget::Tcp("10.0.0.5:9100".into())
        );
        assert_eq!(
            PrinterTarget::parse("tcp://zebra.local:6101").unwrap().id(),
            "tcp://zebra.local:6101"
        );
        assert_eq!(
            PrinterTarget::parse("usb:0A5F:0166").unwrap(),
            PrinterTarget::Usb {
                vendor: 0x0a5f,
                product: 0x0166
            }
        );
        assert_eq!(
            PrinterTarget::parse("spool:ZD420").unwrap().id(),
            "spool:ZD420"
        );
        for bad in ["usb:zebra", "lpt1", "tcp://", "spool:", "usb:1:2:3"] {
            let e = PrinterTarget::parse(bad).unwrap_err();
            assert!(e.to_string().contains("usb:VID:PID"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_pdf_never_goes_to_a_label_printer() {
        let t = PrinterTarget::parse("tcp://127.0.0.1:1").unwrap();
        assert!(matches!(
            t.print(Job::Document(b"%PDF-1.7"), Duration::from_millis(50)),
            Err(TargetError::PdfToLabelPrinter)
        ));
    }

    /// Windows owns USB printers and has no PDF renderer: both are refused with what to do,
    /// before anything is opened.
    #[cfg(windows)]
    #[test]
    fn windows_refuses_usb_printers_and_pdfs_plainly() {
        let usb = PrinterTarget::parse("usb:0a5f:0166").unwrap();
        let t = Duration::from_millis(50);
        let e = usb.print(Job::Label(b"^XA^XZ"), t).unwrap_err();
        assert!(matches!(e, TargetError::UsbOnWindows), "{e}");
        assert!(e.to_string().contains("spool:NAME"), "{e}");
        assert!(matches!(usb.status(t), Err(TargetError::UsbOnWindows)));
        let queue = PrinterTarget::parse("spool:Office Laser").unwrap();
        let e = queue.print(Job::Document(b"%PDF-1.7"), t).unwrap_err();
        assert!(
            matches!(e, TargetError::Spool(SpoolError::NoPdfRenderer)),
            "{e}"
        );
    }

    #[test]
    fn problems_read_as_states() {
        assert!(view(&[]).ready());
        let s = view(&[PrinterProblem::PaperOut, PrinterProblem::HeadOpen]);
        assert_eq!(s.state, "paper_out");
        assert!(s.message.contains(PrinterProblem::HeadOpen.describe()));
    }
}

//! The OS print spooler: raw label jobs (and, where the spooler renders them, PDF documents) go
//! to a named queue, and the queue's state is read back so the packer sees "paused" or "not
//! responding" instead of a job that silently never prints.
//!
//! Linux and macOS spool through CUPS (`lp`, `lpstat`, read in the C locale: [`cups`]); Windows
//! through its own spooler (winspool: a RAW document, written with `WritePrinter`, so the label
//! printer gets the exact ZPL bytes). Reading each spooler's answers is sans-IO and tested here
//! on every OS ([`cups::parse_lpstat`], [`windows_state`]).

use serde::Serialize;

pub mod cups;
#[cfg(windows)]
mod winspool;

/// A queue's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum QueueState {
    Idle,
    Printing {
        job: String,
    },
    /// Stopped (paused by someone, or by the spooler after an error), with the spooler's reason.
    Disabled {
        reason: String,
    },
    /// No queue of that name.
    Unknown,
}

impl QueueState {
    pub fn ready(&self) -> bool {
        matches!(self, Self::Idle | Self::Printing { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Idle => "ready".into(),
            Self::Printing { job } => format!("printing ({job})"),
            Self::Disabled { reason } => format!("stopped: {reason}"),
            Self::Unknown => "no such printer queue".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("`{0}` is not a printer queue name ({QUEUE_NAMES})")]
    BadQueue(String),
    #[error("the print spooler is not available ({0}): {INSTALL_SPOOLER}")]
    Unavailable(std::io::Error),
    #[error("the spooler refused the job: {0}")]
    Refused(String),
    #[error("the printer queue `{queue}` cannot print: {state}")]
    NotReady { queue: String, state: String },
    #[error(
        "Windows' spooler does not render PDFs: set this station's label format to ZPL (a label printer) or PNG, or open the PDF and print it from there"
    )]
    NoPdfRenderer,
}

#[cfg(not(windows))]
const QUEUE_NAMES: &str = "letters, digits, - _ . @";
#[cfg(windows)]
const QUEUE_NAMES: &str = "the printer's name as Windows' Printers & scanners shows it";
#[cfg(not(windows))]
const INSTALL_SPOOLER: &str = "install CUPS (`cups-client`)";
#[cfg(windows)]
const INSTALL_SPOOLER: &str = "start the Print Spooler service";

/// The queue's state.
pub fn status(queue: &str) -> Result<QueueState, SpoolError> {
    #[cfg(windows)]
    return winspool::status(queue);
    #[cfg(not(windows))]
    return cups::status(queue);
}

/// Sends a job: `raw` for printer languages (ZPL), otherwise a document the spooler renders
/// (PDF; CUPS only). A queue that is stopped is said at once rather than left to hold the job.
pub fn print(queue: &str, job: &[u8], raw: bool) -> Result<(), SpoolError> {
    #[cfg(windows)]
    return winspool::print(queue, job, raw);
    #[cfg(not(windows))]
    return cups::print(queue, job, raw);
}

/// The print queues this computer has, by name (as `spool:NAME` takes them).
pub fn queues() -> Result<Vec<String>, SpoolError> {
    #[cfg(windows)]
    return winspool::queues();
    #[cfg(not(windows))]
    return cups::queues();
}

/// The bits of Windows' `PRINTER_INFO_2.Status` (winspool.h; checked against the `windows`
/// crate's constants in the Windows build's tests).
pub mod printer_status {
    pub const PAUSED: u32 = 0x1;
    pub const ERROR: u32 = 0x2;
    pub const PENDING_DELETION: u32 = 0x4;
    pub const PAPER_JAM: u32 = 0x8;
    pub const PAPER_OUT: u32 = 0x10;
    pub const PAPER_PROBLEM: u32 = 0x40;
    pub const OFFLINE: u32 = 0x80;
    pub const BUSY: u32 = 0x200;
    pub const PRINTING: u32 = 0x400;
    pub const OUTPUT_BIN_FULL: u32 = 0x800;
    pub const NOT_AVAILABLE: u32 = 0x1000;
    pub const PROCESSING: u32 = 0x4000;
    pub const NO_TONER: u32 = 0x4_0000;
    pub const USER_INTERVENTION: u32 = 0x10_0000;
    pub const OUT_OF_MEMORY: u32 = 0x20_0000;
    pub const DOOR_OPEN: u32 = 0x40_0000;
    pub const SERVER_OFFLINE: u32 = 0x200_0000;
}

/// A Windows printer's state from its status bits and how many jobs it holds: any bit that
/// stops printing makes it stopped, with every such reason in words.
pub fn windows_state(status: u32, jobs: u32) -> QueueState {
    use printer_status as s;
    const STOPS: [(u32, &str); 14] = [
        (s::PAUSED, "paused"),
        (s::PAPER_OUT, "out of paper"),
        (s::PAPER_JAM, "paper jam"),
        (s::PAPER_PROBLEM, "a paper problem"),
        (s::DOOR_OPEN, "a door or the print head is open"),
        (s::OFFLINE, "offline"),
        (s::SERVER_OFFLINE, "its print server is offline"),
        (s::NOT_AVAILABLE, "not available"),
        (s::USER_INTERVENTION, "needs someone at the printer"),
        (s::OUTPUT_BIN_FULL, "the output tray is full"),
        (s::NO_TONER, "out of toner"),
        (s::OUT_OF_MEMORY, "out of memory"),
        (s::PENDING_DELETION, "being removed"),
        (s::ERROR, "in an error state"),
    ];
    let reasons: Vec<&str> = STOPS
        .iter()
        .filter(|(bit, _)| status & bit != 0)
        .map(|(_, words)| *words)
        .collect();
    if !reasons.is_empty() {
        return QueueState::Disabled {
            reason: reasons.join("; "),
        };
    }
    if jobs > 0 || status & (s::PRINTING | s::PROCESSING | s::BUSY) != 0 {
        return QueueState::Printing {
            job: match jobs {
                0 => "a job".into(),
                1 => "1 job queued".into(),
                n => format!("{n} jobs queued"),
            },
        };
    }
    QueueState::Idle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_states_are_read_from_their_bits() {
        use printer_status as s;
        assert_eq!(windows_state(0, 0), QueueState::Idle);
        assert!(windows_state(0, 0).ready());
        assert_eq!(
            windows_state(s::PRINTING, 2),
            QueueState::Printing {
                job: "2 jobs queued".into()
            }
        );
        assert!(windows_state(0, 1).ready());
        let stopped = windows_state(s::PAUSED | s::PAPER_OUT | s::PRINTING, 1);
        assert_eq!(
            stopped,
            QueueState::Disabled {
                reason: "paused; out of paper".into()
            }
        );
        assert!(!stopped.ready());
        assert_eq!(windows_state(s::OFFLINE, 0).describe(), "stopped: offline");
        // A bit that says nothing about printing (power save, toner low) leaves it ready.
        assert!(windows_state(0x100_0000 | 0x2_0000, 0).ready());
    }

    #[cfg(windows)]
    #[test]
    fn the_status_bits_are_windows_own() {
        use ::windows::Win32::Graphics::Printing as w;
        use printer_status as s;
        for (ours, theirs) in [
            (s::PAUSED, w::PRINTER_STATUS_PAUSED),
            (s::ERROR, w::PRINTER_STATUS_ERROR),
            (s::PENDING_DELETION, w::PRINTER_STATUS_PENDING_DELETION),
            (s::PAPER_JAM, w::PRINTER_STATUS_PAPER_JAM),
            (s::PAPER_OUT, w::PRINTER_STATUS_PAPER_OUT),
            (s::PAPER_PROBLEM, w::PRINTER_STATUS_PAPER_PROBLEM),
            (s::OFFLINE, w::PRINTER_STATUS_OFFLINE),
            (s::BUSY, w::PRINTER_STATUS_BUSY),
            (s::PRINTING, w::PRINTER_STATUS_PRINTING),
            (s::OUTPUT_BIN_FULL, w::PRINTER_STATUS_OUTPUT_BIN_FULL),
            (s::NOT_AVAILABLE, w::PRINTER_STATUS_NOT_AVAILABLE),
            (s::PROCESSING, w::PRINTER_STATUS_PROCESSING),
            (s::NO_TONER, w::PRINTER_STATUS_NO_TONER),
            (s::USER_INTERVENTION, w::PRINTER_STATUS_USER_INTERVENTION),
            (s::OUT_OF_MEMORY, w::PRINTER_STATUS_OUT_OF_MEMORY),
            (s::DOOR_OPEN, w::PRINTER_STATUS_DOOR_OPEN),
            (s::SERVER_OFFLINE, w::PRINTER_STATUS_SERVER_OFFLINE),
        ] {
            assert_eq!(ours, theirs);
        }
    }
}

//! Zebra-class label printers, sans-IO: the `~HS` host status answer parsed into what the
//! packer needs to know (shared/notes/devices.md §D), and the job/status exchanges over any
//! [`Transport`].

use std::time::Duration;

use serde::Serialize;

use crate::transport::{Transport, TransportError};

/// `~HS`: ask for the host status (three STX..ETX strings).
pub const HOST_STATUS: &[u8] = b"~HS";

/// What stops a printer from printing, in the packer's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterProblem {
    PaperOut,
    Paused,
    BufferFull,
    HeadOpen,
    RibbonOut,
    CorruptRam,
    TooCold,
    TooHot,
}

impl PrinterProblem {
    pub fn describe(self) -> &'static str {
        match self {
            Self::PaperOut => "out of labels: load a new roll",
            Self::Paused => "paused: press the pause button on the printer",
            Self::BufferFull => "busy: its memory is full, wait a moment",
            Self::HeadOpen => "the print head is open: close it",
            Self::RibbonOut => "out of ribbon",
            Self::CorruptRam => "printer memory error: switch it off and on",
            Self::TooCold => "print head too cold",
            Self::TooHot => "print head too hot: let it cool",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrinterStatus {
    pub problems: Vec<PrinterProblem>,
    /// Label formats waiting in the printer.
    pub formats_waiting: u32,
    /// Labels left in the current batch.
    pub labels_remaining: u32,
}

impl PrinterStatus {
    pub fn ready(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("the printer's status answer is incomplete or garbled")]
    Garbled,
}

/// Parses the three `~HS` strings (each `STX ... ETX CR LF`).
pub fn parse_host_status(answer: &[u8]) -> Result<PrinterStatus, StatusError> {
    let text = String::from_utf8_lossy(answer);
    let strings: Vec<Vec<&str>> = text
        .split('\u{2}')
        .filter_map(|s| s.split('\u{3}').next())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').map(str::trim).collect())
        .collect();
    if strings.len() < 2 || strings[0].len() < 12 || strings[1].len() < 9 {
        return Err(StatusError::Garbled);
    }
    let (one, two) = (&strings[0], &strings[1]);
    let flag = |s: &str| s == "1";
    let mut problems = Vec::new();
    for (set, p) in [
        (flag(one[1]), PrinterProblem::PaperOut),
        (flag(one[2]), PrinterProblem::Paused),
        (flag(one[5]), PrinterProblem::BufferFull),
        (flag(one[9]), PrinterProblem::CorruptRam),
        (flag(one[10]), PrinterProblem::TooCold),
        (flag(one[11]), PrinterProblem::TooHot),
        (flag(two[2]), PrinterProblem::HeadOpen),
        // Ribbon out only matters in thermal-transfer mode (q = 1).
        (flag(two[3]) && flag(two[4]), PrinterProblem::RibbonOut),
    ] {
        if set {
            problems.push(p);
        }
    }
    Ok(PrinterStatus {
        problems,
        formats_waiting: one[4].parse().map_err(|_| StatusError::Garbled)?,
        labels_remaining: two[8].parse().map_err(|_| StatusError::Garbled)?,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Status(#[from] StatusError),
    /// Some firmware stays silent while out of media or with the head open: silence is not "ready".
    #[error(
        "the printer did not answer a status request within {0:?} (it may be out of labels or open)"
    )]
    NoAnswer(Duration),
}

/// Asks for the host status and waits for the whole answer.
pub fn query_status(t: &mut dyn Transport, timeout: Duration) -> Result<PrinterStatus, PrintError> {
    t.write_all(HOST_STATUS)?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = t.read(&mut buf, timeout)?;
        if n == 0 {
            return Err(PrintError::NoAnswer(timeout));
        }
        answer.extend_from_slice(&buf[..n]);
        // Three strings: three ETX.
        if answer.iter().filter(|b| **b == 0x03).count() >= 3 {
            return Ok(parse_host_status(&answer)?);
        }
    }
}

/// Sends a print job (ZPL bytes) as one write.
pub fn send_job(t: &mut dyn Transport, job: &[u8]) -> Result<(), PrintError> {
    t.write_all(job)?;
    t.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Scripted;
    use proptest::prelude::*;

    pub(crate) fn answer(paper_out: bool, paused: bool, head_open: bool) -> Vec<u8> {
        format!(
            "\u{2}030,{},{},1218,000,0,0,0,000,0,0,0\u{3}\r\n\u{2}000,0,{},0,0,2,6,0,00000000,1,000\u{3}\r\n\u{2}1234,0\u{3}\r\n",
            u8::from(paper_out),
            u8::from(paused),
            u8::from(head_open)
        )
        .into_bytes()
    }

    #[test]
    fn a_ready_printer_has_no_problems() {
        let s = parse_host_status(&answer(false, false, false)).unwrap();
        assert!(s.ready());
        assert_eq!((s.formats_waiting, s.labels_remaining), (0, 0));
    }

    #[test]
    fn paper_out_pause_and_an_open_head_are_reported() {
        let s = parse_host_status(&answer(true, true, true)).unwrap();
        assert_eq!(
            s.problems,
            vec![
                PrinterProblem::PaperOut,
                PrinterProblem::Paused,
                PrinterProblem::HeadOpen
            ]
        );
        assert!(s.problems.iter().all(|p| !p.describe().is_empty()));
        assert_eq!(
            parse_host_status(b"\x02030,0\x03"),
            Err(StatusError::Garbled)
        );
    }

    #[test]
    fn a_status_query_writes_hs_and_silence_is_an_error() {
        let mut t = Scripted::new(vec![
            answer(false, false, false)[..40].to_vec(),
            answer(false, false, false)[40..].to_vec(),
        ]);
        let s = query_status(&mut t, Duration::from_millis(50)).unwrap();
        assert!(s.ready());
        assert_eq!(t.written(), HOST_STATUS);
        let mut silent = Scripted::new(vec![]);
        assert!(matches!(
            query_status(&mut silent, Duration::from_millis(50)),
            Err(PrintError::NoAnswer(_))
        ));
    }

    proptest! {
        #[test]
        fn no_status_answer_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_host_status(&bytes);
        }
    }
}

//! CUPS, the spooler of Linux and macOS: `lp` sends, `lpstat` tells. Every command runs with
//! `LC_ALL=C`, so its answers are CUPS's English wording whatever the bench's language is (a
//! German Mac says "Drucker … ist im Leerlauf" otherwise).
//!
//! `parse_lpstat` and `parse_queues` are sans-IO (tested on CUPS's own wording); `print`,
//! `status` and `queues` run the commands.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{QueueState, SpoolError};

fn check_queue(queue: &str) -> Result<(), SpoolError> {
    let ok = !queue.is_empty()
        && queue
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(SpoolError::BadQueue(queue.to_owned()))
    }
}

/// Reads `lpstat -p QUEUE -l` output (English locale).
pub fn parse_lpstat(queue: &str, output: &str) -> QueueState {
    let head = format!("printer {queue} ");
    let mut lines = output.lines();
    let Some(first) = lines.by_ref().find(|l| l.starts_with(&head)) else {
        return QueueState::Unknown;
    };
    let rest = &first[head.len()..];
    if let Some(job) = rest.strip_prefix("now printing ") {
        let job = job.split(". ").next().unwrap_or(job).trim_end_matches('.');
        return QueueState::Printing {
            job: job.to_owned(),
        };
    }
    if rest.starts_with("is idle") {
        return QueueState::Idle;
    }
    if rest.starts_with("disabled") {
        // The reason is on the next indented line(s), before the `Description:`-style fields.
        let reason = lines
            .map(str::trim)
            .take_while(|l| !l.contains(": ") && !l.ends_with(':'))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        return QueueState::Disabled {
            reason: if reason.is_empty() {
                "paused".into()
            } else {
                reason
            },
        };
    }
    QueueState::Unknown
}

/// The queue's state, from `lpstat`.
pub fn status(queue: &str) -> Result<QueueState, SpoolError> {
    check_queue(queue)?;
    let out = lpstat(&["-p", queue, "-l"])?;
    Ok(parse_lpstat(queue, &String::from_utf8_lossy(&out.stdout)))
}

/// The names of CUPS's queues, from `lpstat -e`.
pub fn queues() -> Result<Vec<String>, SpoolError> {
    let out = lpstat(&["-e"])?;
    Ok(parse_queues(&String::from_utf8_lossy(&out.stdout)))
}

/// `lpstat -e`: one destination a line (a queue, or `QUEUE/INSTANCE`).
pub fn parse_queues(output: &str) -> Vec<String> {
    output
        .lines()
        .map(str::trim)
        .filter(|l| check_queue(l).is_ok())
        .map(str::to_owned)
        .collect()
}

fn lpstat(args: &[&str]) -> Result<std::process::Output, SpoolError> {
    Command::new("lpstat")
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(SpoolError::Unavailable)
}

/// Sends a job: `raw` for printer languages (ZPL), otherwise a document CUPS converts (PDF).
/// A queue that is stopped is said at once rather than left to hold the job.
pub fn print(queue: &str, job: &[u8], raw: bool) -> Result<(), SpoolError> {
    check_queue(queue)?;
    if let Ok(state) = status(queue)
        && !state.ready()
    {
        return Err(SpoolError::NotReady {
            queue: queue.to_owned(),
            state: state.describe(),
        });
    }
    let mut args = vec!["-d", queue];
    if raw {
        args.extend(["-o", "raw"]);
    }
    let mut child = Command::new("lp")
        .args(&args)
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(SpoolError::Unavailable)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(job)
            .map_err(|e| SpoolError::Refused(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| SpoolError::Refused(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(SpoolError::Refused(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cups_states_are_read() {
        assert_eq!(
            parse_lpstat(
                "zebra",
                "printer zebra is idle.  enabled since Tue 24 Nov 2026 09:12:01 AM UTC\n\tDescription: ZD420\n"
            ),
            QueueState::Idle
        );
        assert_eq!(
            parse_lpstat(
                "zebra",
                "printer zebra now printing zebra-42.  enabled since Tue 24 Nov 2026 09:12:01 AM UTC\n"
            ),
            QueueState::Printing {
                job: "zebra-42".into()
            }
        );
        let stopped = parse_lpstat(
            "zebra",
            "printer zebra disabled since Tue 24 Nov 2026 09:12:01 AM UTC -\n\tThe printer is not responding.\n\tForm mounted:\n\tDescription: ZD420\n",
        );
        assert_eq!(
            stopped,
            QueueState::Disabled {
                reason: "The printer is not responding.".into()
            }
        );
        assert!(!stopped.ready());
        assert_eq!(
            parse_lpstat("zebra", "printer zebra disabled since Tue -\n"),
            QueueState::Disabled {
                reason: "paused".into()
            }
        );
        assert_eq!(
            parse_lpstat(
                "zebra",
                "lpstat: Invalid destination name in list \"zebra\".\n"
            ),
            QueueState::Unknown
        );
        assert_eq!(
            parse_lpstat("zeb", "printer zebra is idle.\n"),
            QueueState::Unknown,
            "another queue's line"
        );
    }

    #[test]
    fn queues_are_listed_by_name() {
        assert_eq!(
            parse_queues("ZD420\nOffice_Laser\nZD420/4x6\n\n"),
            ["ZD420", "Office_Laser"]
        );
        assert!(parse_queues("").is_empty());
    }

    #[test]
    fn queue_names_are_checked_before_anything_runs() {
        assert!(matches!(
            print("a b", b"^XA^XZ", true),
            Err(SpoolError::BadQueue(_))
        ));
        assert!(matches!(status("x;rm"), Err(SpoolError::BadQueue(_))));
    }
}

//! Windows' spooler for the bench, over `packbench-winspool`'s safe calls: labels go RAW, a
//! stopped printer is said before a job waits in its queue, PDFs are refused (Windows has no
//! renderer to hand them to).

use packbench_winspool::{Printer, printer_names};

use super::{QueueState, SpoolError, windows_state};

fn check_queue(queue: &str) -> Result<(), SpoolError> {
    let ok = !queue.is_empty() && queue.len() <= 259 && !queue.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(SpoolError::BadQueue(queue.to_owned()))
    }
}

fn refused(e: packbench_winspool::Error) -> SpoolError {
    SpoolError::Refused(e.0)
}

pub fn status(queue: &str) -> Result<QueueState, SpoolError> {
    check_queue(queue)?;
    match Printer::open(queue).map_err(refused)? {
        Some(p) => {
            let s = p.state().map_err(refused)?;
            Ok(windows_state(s.status, s.jobs))
        }
        None => Ok(QueueState::Unknown),
    }
}

pub fn print(queue: &str, job: &[u8], raw: bool) -> Result<(), SpoolError> {
    check_queue(queue)?;
    if !raw {
        return Err(SpoolError::NoPdfRenderer);
    }
    let printer = Printer::open(queue)
        .map_err(refused)?
        .ok_or_else(|| SpoolError::NotReady {
            queue: queue.to_owned(),
            state: QueueState::Unknown.describe(),
        })?;
    if let Ok(s) = printer.state() {
        let state = windows_state(s.status, s.jobs);
        if !state.ready() {
            return Err(SpoolError::NotReady {
                queue: queue.to_owned(),
                state: state.describe(),
            });
        }
    }
    printer.write_raw("Packbench label", job).map_err(refused)
}

pub fn queues() -> Result<Vec<String>, SpoolError> {
    printer_names().map_err(refused)
}

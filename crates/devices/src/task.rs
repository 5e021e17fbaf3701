//! What every device task shares: open the device, run a session on it until it fails, say why
//! it is gone, and open it again every so often — until told to stop.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::transport::{Transport, TransportError};

/// Opens the device (again, after an unplug).
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn Transport + Send>, TransportError> + Send>;

/// What happened to the device.
pub enum Step {
    /// It is open: run a session on it; `Ok(())` means "asked to stop", an error that it is gone.
    Opened(Box<dyn Transport + Send>),
    /// It could not be opened, or a session ended with this error.
    Lost(String),
}

/// Runs `on` for each step until a session returns `Ok(())` or `is_stop` sees a command while
/// the device is away.
pub fn supervise<C>(
    mut open: Opener,
    commands: &Receiver<C>,
    is_stop: fn(&C) -> bool,
    reopen_every: Duration,
    mut on: impl FnMut(Step) -> Result<(), TransportError>,
) {
    loop {
        match open() {
            Ok(device) => match on(Step::Opened(device)) {
                Ok(()) => return,
                Err(e) => {
                    let _ = on(Step::Lost(e.to_string()));
                }
            },
            Err(e) => {
                let _ = on(Step::Lost(e.to_string()));
                match commands.recv_timeout(reopen_every) {
                    Ok(c) if is_stop(&c) => return,
                    Err(RecvTimeoutError::Disconnected) => return,
                    _ => {}
                }
            }
        }
    }
}

//! What every device task shares: open the device, run a session on it until it fails, say why
//! it is gone, and open it again every so often — until told to stop.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
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

/// A device's thread and the way to send it commands; dropping it sends `stop` and waits for
/// the thread, so nothing is left holding the device.
pub struct DeviceThread<C: Copy + Send + 'static> {
    commands: Sender<C>,
    stop: C,
    thread: Option<JoinHandle<()>>,
}

impl<C: Copy + Send + 'static> DeviceThread<C> {
    /// Runs `body` on a thread named `name`, with the commands sent to it.
    pub fn spawn(name: &str, stop: C, body: impl FnOnce(Receiver<C>) + Send + 'static) -> Self {
        let (commands, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(rx))
            .ok();
        Self {
            commands,
            stop,
            thread,
        }
    }

    pub fn send(&self, c: C) {
        let _ = self.commands.send(c);
    }
}

impl<C: Copy + Send + 'static> Drop for DeviceThread<C> {
    fn drop(&mut self) {
        let _ = self.commands.send(self.stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

//! One thread owns a scale: it opens the scale (and opens it again after an unplug, every
//! second, by itself), reads it — a HID scale's reports as they come, draining a backlog to the
//! newest frame; a serial scale by asking (NCI `W`, SICS `S`) a few times a second — follows
//! the scale's state with [`ScaleFeed`] and publishes every change. Zeroing goes through the
//! same thread, so nothing else ever touches the device.

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::scale::{ScaleFeed, ScaleState, parse_hid_report};
use crate::serial_scale::ScaleDialect;
use crate::serial_scale::{self, SerialProtocol, WeighError};
use crate::task::{DeviceThread, Step, supervise};

/// How a scale talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleProtocol {
    /// HID POS reports, sent by the scale.
    Hid,
    /// A serial scale, asked for each reading.
    Serial(SerialProtocol),
}

/// What the task publishes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleEvent {
    #[serde(flatten)]
    pub state: ScaleState,
    /// Why the scale is not there (no permission, not found), when that is the state.
    pub problem: Option<String>,
    /// When the newest frame behind this event was read (milliseconds since the epoch), so a
    /// screen can tell how fresh the reading is.
    pub frame_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleCommand {
    /// Zero the scale (HID POS control report: enforced zero return).
    Zero,
    Stop,
}

#[derive(Debug, Clone, Copy)]
pub struct ScaleTaskOptions {
    /// Silence after which the scale is asleep.
    pub asleep_after: Duration,
    /// How long one read waits before the task looks at commands and the clock.
    pub poll: Duration,
    /// How often a missing scale is looked for.
    pub reopen_every: Duration,
}

impl Default for ScaleTaskOptions {
    fn default() -> Self {
        Self {
            asleep_after: Duration::from_secs(3),
            poll: Duration::from_millis(50),
            reopen_every: Duration::from_secs(1),
        }
    }
}

/// The control report that zeroes a HID POS scale: report id 2, EZR.
pub const ZERO_REPORT: [u8; 2] = [0x02, 0x01];

pub use crate::task::Opener;

/// The running task: send it commands; dropping the handle stops it.
pub struct ScaleTask(DeviceThread<ScaleCommand>);

impl ScaleTask {
    /// Starts the thread. `open` opens the scale (a hidraw node, or a simulated one);
    /// `publish` gets every state change, on the task's thread.
    pub fn start(
        open: Opener,
        protocol: ScaleProtocol,
        publish: impl Fn(ScaleEvent) + Send + 'static,
        options: ScaleTaskOptions,
    ) -> Self {
        Self(DeviceThread::spawn(
            "packbench-scale",
            ScaleCommand::Stop,
            move |rx| run(open, protocol, &publish, &rx, options),
        ))
    }

    pub fn send(&self, c: ScaleCommand) {
        self.0.send(c);
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn run(
    open: Opener,
    protocol: ScaleProtocol,
    publish: &dyn Fn(ScaleEvent),
    commands: &Receiver<ScaleCommand>,
    o: ScaleTaskOptions,
) {
    let started = Instant::now();
    let now_ms = || started.elapsed().as_millis() as u64;
    let mut feed = ScaleFeed::new(o.asleep_after.as_millis() as u64);
    let mut last_problem: Option<String> = None;
    let tick = |feed: &mut ScaleFeed| {
        if let Some(state) = feed.tick(now_ms()) {
            publish(ScaleEvent {
                state,
                problem: None,
                frame_at_ms: None,
            });
        }
    };
    supervise(
        open,
        commands,
        |c| *c == ScaleCommand::Stop,
        o.reopen_every,
        |step| match step {
            // Said once per change: unplugged, or a new reason it cannot be opened.
            Step::Lost(problem) => {
                if feed.unplugged().is_some() || last_problem.as_ref() != Some(&problem) {
                    publish(ScaleEvent {
                        state: ScaleState::Unplugged,
                        problem: Some(problem.clone()),
                        frame_at_ms: None,
                    });
                    last_problem = Some(problem);
                }
                Ok(())
            }
            Step::Opened(mut scale) => {
                last_problem = None;
                let mut buf = [0u8; 64];
                loop {
                    match commands.try_recv() {
                        Ok(ScaleCommand::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                            return Ok(());
                        }
                        Ok(ScaleCommand::Zero) => {
                            scale.write_all(match protocol {
                                ScaleProtocol::Hid => &ZERO_REPORT,
                                ScaleProtocol::Serial(p) => p.zero_request(),
                            })?;
                            scale.flush()?;
                        }
                        Err(mpsc::TryRecvError::Empty) => {}
                    }
                    if let ScaleProtocol::Serial(p) = protocol {
                        match serial_scale::ask(&mut *scale, p, Duration::from_millis(500)) {
                            Ok(answer) => {
                                let read_at = epoch_ms();
                                if let Some(state) = feed.frames(&[&answer], p.parser(), now_ms()) {
                                    publish(ScaleEvent {
                                        state,
                                        problem: None,
                                        frame_at_ms: Some(read_at),
                                    });
                                }
                            }
                            Err(WeighError::Transport(e)) => return Err(e),
                            // Silence: a scale switched off reads as asleep.
                            Err(_) => tick(&mut feed),
                        }
                        std::thread::sleep(o.poll);
                        continue;
                    }
                    let n = scale.read(&mut buf, o.poll)?;
                    if n == 0 {
                        tick(&mut feed);
                        continue;
                    }
                    // Drain what else is waiting: only the newest frame matters.
                    let mut frames = vec![buf[..n].to_vec()];
                    let mut failed = None;
                    while frames.len() < 256 {
                        match scale.read(&mut buf, Duration::ZERO) {
                            Ok(0) => break,
                            Ok(m) => frames.push(buf[..m].to_vec()),
                            // What was read before the scale went is still said.
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    let read_at = epoch_ms();
                    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
                    if let Some(state) = feed.frames(&refs, parse_hid_report, now_ms()) {
                        publish(ScaleEvent {
                            state,
                            problem: None,
                            frame_at_ms: Some(read_at),
                        });
                    }
                    if let Some(e) = failed {
                        return Err(e);
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
    use crate::transport::{Scripted, Transport, TransportError};

    /// A scripted scale that is unplugged once its frames run out (when `unplug`).
    struct Scale {
        script: Scripted,
        unplug: bool,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Transport for Scale {
        fn write_all(&mut self, b: &[u8]) -> Result<(), TransportError> {
            self.written.lock().unwrap().extend_from_slice(b);
            Ok(())
        }
        fn flush(&mut self) -> Result<(), TransportError> {
            Ok(())
        }
        fn read(&mut self, buf: &mut [u8], t: Duration) -> Result<usize, TransportError> {
            let n = self.script.read(buf, t)?;
            if n == 0 && self.unplug {
                return Err(TransportError::Unplugged {
                    target: "hid:/dev/hidraw1".into(),
                });
            }
            if n == 0 {
                std::thread::sleep(t);
            }
            Ok(n)
        }
    }

    fn events_until(
        rx: &Receiver<ScaleEvent>,
        done: impl Fn(&ScaleEvent) -> bool,
    ) -> Vec<ScaleEvent> {
        let mut seen = Vec::new();
        while let Ok(e) = rx.recv_timeout(Duration::from_secs(5)) {
            let stop = done(&e);
            seen.push(e);
            if stop {
                return seen;
            }
        }
        panic!("never came: {seen:?}");
    }

    fn state_name(e: &ScaleEvent) -> String {
        match e.state {
            ScaleState::Reading { reading, usable } => {
                format!(
                    "{:?} {:.0} g usable={usable}",
                    reading.status, reading.grams
                )
            }
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn the_task_drains_backlogs_sleeps_reconnects_and_zeroes() {
        let stale = vec![0x03, 0x04, 0x0C, 0xFE, 0x10, 0x27]; // 100.00 lb, from before
        let moving = vec![0x03, 0x03, 0x0C, 0xFE, 0x11, 0x03];
        let stable = vec![0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03]; // 7.85 lb
        let opened = Arc::new(Mutex::new(0));
        let written = Arc::new(Mutex::new(Vec::new()));
        let (o, w) = (opened.clone(), written.clone());
        let open: Opener = Box::new(move || {
            let mut n = o.lock().unwrap();
            *n += 1;
            match *n {
                // First: the stale frame, then a backlog (moving, stable) read at once, then
                // silence, then unplugged.
                1 => Ok(Box::new(Scale {
                    script: Scripted::new(vec![stale.clone(), moving.clone(), stable.clone()]),
                    unplug: false,
                    written: w.clone(),
                }) as Box<dyn Transport + Send>),
                // Then it is away for a while (not found), then back.
                2 | 3 => Err(TransportError::NotFound {
                    target: "hid:/dev/hidraw1".into(),
                }),
                _ => Ok(Box::new(Scale {
                    script: Scripted::new(vec![stable.clone(), stable.clone()]),
                    unplug: false,
                    written: w.clone(),
                })),
            }
        });
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let task = ScaleTask::start(
            open,
            ScaleProtocol::Hid,
            move |e| {
                let _ = tx.lock().unwrap().send(e);
            },
            ScaleTaskOptions {
                asleep_after: Duration::from_millis(150),
                poll: Duration::from_millis(10),
                reopen_every: Duration::from_millis(20),
            },
        );
        let first = events_until(&rx, |e| matches!(e.state, ScaleState::Reading { .. }));
        assert_eq!(
            first.iter().map(state_name).collect::<Vec<_>>(),
            ["Stable 3561 g usable=true"],
            "the stale frame is dropped and the backlog drained to its newest"
        );
        assert!(first[0].frame_at_ms.is_some());
        let asleep = events_until(&rx, |e| e.state == ScaleState::Asleep);
        assert_eq!(asleep.len(), 1);
        task.send(ScaleCommand::Zero);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(written.lock().unwrap().as_slice(), &ZERO_REPORT);
        drop(task);
    }

    #[test]
    fn an_unplugged_scale_is_said_and_found_again() {
        let frame = vec![0x03, 0x02, 0x0B, 0xFF, 0x00, 0x00]; // stable zero, oz
        let opened = Arc::new(Mutex::new(0));
        let o = opened.clone();
        let open: Opener = Box::new(move || {
            let mut n = o.lock().unwrap();
            *n += 1;
            match *n {
                1 => Ok(Box::new(Scale {
                    script: Scripted::new(vec![frame.clone(), frame.clone()]),
                    unplug: true,
                    written: Arc::default(),
                }) as Box<dyn Transport + Send>),
                2 => Err(TransportError::NoPermission {
                    target: "hid:/dev/hidraw1".into(),
                }),
                _ => Ok(Box::new(Scale {
                    script: Scripted::new(vec![frame.clone(), frame.clone()]),
                    unplug: false,
                    written: Arc::default(),
                })),
            }
        });
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let _task = ScaleTask::start(
            open,
            ScaleProtocol::Hid,
            move |e| {
                let _ = tx.lock().unwrap().send(e);
            },
            ScaleTaskOptions {
                asleep_after: Duration::from_secs(60),
                poll: Duration::from_millis(10),
                reopen_every: Duration::from_millis(20),
            },
        );
        let seen = events_until(&rx, |e| {
            matches!(e.state, ScaleState::Reading { .. }) && *opened.lock().unwrap() >= 3
        });
        let names: Vec<String> = seen.iter().map(state_name).collect();
        assert_eq!(
            names,
            [
                "StableZero 0 g usable=false",
                "Unplugged",
                "Unplugged",
                "StableZero 0 g usable=false"
            ],
            "{seen:?}"
        );
        assert!(seen[1].problem.as_deref().unwrap().contains("unplugged"));
        assert!(
            seen[2]
                .problem
                .as_deref()
                .unwrap()
                .contains("no permission"),
            "a new reason is said even while still unplugged"
        );
    }

    #[test]
    fn a_serial_scale_is_asked_until_it_settles_and_zeroed_with_its_command() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let w = written.clone();
        let open: Opener = Box::new(move || {
            Ok(Box::new(Scale {
                script: Scripted::new(vec![
                    b"\n0009.99lb\r\n00\r\x03".to_vec(), // first answer: dropped
                    b"\n0002.40lb\r\nM0\r\x03".to_vec(), // moving
                    b"\n0002.50lb\r\n00\r\x03".to_vec(), // stable
                ]),
                unplug: false,
                written: w.clone(),
            }) as Box<dyn Transport + Send>)
        });
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let task = ScaleTask::start(
            open,
            ScaleProtocol::Serial(SerialProtocol::Nci),
            move |e| {
                let _ = tx.lock().unwrap().send(e);
            },
            ScaleTaskOptions {
                asleep_after: Duration::from_millis(300),
                poll: Duration::from_millis(5),
                reopen_every: Duration::from_millis(20),
            },
        );
        let seen = events_until(&rx, |e| e.state == ScaleState::Asleep);
        let names: Vec<String> = seen.iter().map(state_name).collect();
        assert_eq!(
            names,
            [
                "InMotion 1089 g usable=false",
                "Stable 1134 g usable=true",
                "Asleep"
            ],
            "a silent serial scale is asleep"
        );
        task.send(ScaleCommand::Zero);
        std::thread::sleep(Duration::from_millis(100));
        drop(task);
        let w = written.lock().unwrap();
        assert!(w.starts_with(b"W\rW\rW\r"), "asked for each reading");
        assert!(
            w.windows(2).any(|x| x == b"Z\r"),
            "zeroed with NCI's command"
        );
    }
}

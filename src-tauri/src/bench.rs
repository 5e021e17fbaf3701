//! The bench devices as the station window sees them: thin Tauri commands over
//! `crates/devices`. Scale readings are pushed to the window as `scale` events (never polled)
//! by the scale task that owns the chosen scale: a HID scale's hidraw node (`hid:/dev/hidrawN`)
//! or the simulated scale (`sim:scale`, the same HID reports made up in `devices::sim`).
//! Printers: the simulated one (each job written to `<app data>/printed/`), raw TCP 9100
//! (`tcp://HOST:PORT`), USB (`usb:VID:PID`) and the OS spooler (`spool:QUEUE`), through
//! `devices::target`. The device list comes from `devices::discover`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use packbench_devices::discover::{self, FoundKind};
use packbench_devices::scale::{ScaleState, ScaleStatus};
use packbench_devices::scale_task::{
    ScaleCommand, ScaleEvent, ScaleProtocol, ScaleTask, ScaleTaskOptions,
};
use packbench_devices::serial_scale::SerialScaleSpec;
use packbench_devices::sim::SimScale;
use packbench_devices::target::{Job, PrinterTarget};
use serde::Serialize;
use tauri::{AppHandle, Emitter};

#[derive(Debug, Clone, Serialize)]
pub struct Detected {
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    pub transport: &'static str,
    /// Anything in the way (no permission, held by a driver).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScaleReading {
    /// stable, moving, zero, under_zero, overload, fault, starting, asleep, unplugged, none
    pub state: &'static str,
    pub weight: Option<WeightView>,
    pub device: Option<String>,
    /// What is wrong, in words, for fault and unplugged.
    pub problem: Option<String>,
    /// When the frame behind this reading was read from the scale (ms since the epoch).
    pub frame_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WeightView {
    pub value: f64,
    pub unit: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrinterStatusView {
    /// ready, paper_out, head_open, paused, buffer_full, stopped, offline, unknown
    pub state: &'static str,
    pub message: String,
}

/// How a label is fitted to the station's printer (its device settings).
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    pub dpi: u16,
    pub darkness: Option<u8>,
}

pub struct Bench {
    app: AppHandle,
    scanner: Mutex<Option<packbench_devices::scanner_task::ScannerTask>>,
    printed: PathBuf,
    sim: SimScale,
    reading: Arc<Mutex<ScaleReading>>,
    task: Mutex<Option<(String, ScaleTask)>>,
    jobs: Mutex<u64>,
}

const SIM_SCALE: &str = "sim:scale";
const SIM_PRINTER: &str = "sim:printer";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A scale task's event as the window shows it.
pub fn reading_view(e: &ScaleEvent, device: &str) -> ScaleReading {
    let mut view = ScaleReading {
        state: "none",
        weight: None,
        device: Some(device.to_owned()),
        problem: e.problem.clone(),
        frame_at_ms: e.frame_at_ms,
    };
    match e.state {
        ScaleState::Reading { reading, .. } => {
            let unit = reading
                .unit
                .unwrap_or(packbench_core::domain::WeightUnit::G);
            let per_unit = packbench_core::domain::Weight::new(1.0, unit)
                .map(|w| w.grams())
                .unwrap_or(1.0);
            let weight = Some(WeightView {
                value: (reading.grams / per_unit * 100.0).round() / 100.0,
                unit: unit.as_str(),
            });
            view.state = match reading.status {
                ScaleStatus::Stable => "stable",
                ScaleStatus::InMotion => "moving",
                ScaleStatus::StableZero => "zero",
                ScaleStatus::UnderZero => "under_zero",
                ScaleStatus::OverWeight => "overload",
                ScaleStatus::Fault | ScaleStatus::NeedsCalibration | ScaleStatus::NeedsZeroing => {
                    view.problem = Some(reading.status.describe().to_owned());
                    "fault"
                }
            };
            if matches!(view.state, "stable" | "moving" | "zero") {
                view.weight = weight;
            }
        }
        ScaleState::Starting => view.state = "starting",
        ScaleState::Asleep => view.state = "asleep",
        ScaleState::Unplugged => view.state = "unplugged",
        ScaleState::Unreadable => {
            view.state = "fault";
            view.problem = Some("its reports do not read as a scale's".into());
        }
    }
    view
}

impl Bench {
    pub fn new(app: AppHandle, data_dir: PathBuf) -> Arc<Self> {
        let bench = Arc::new(Self {
            app,
            printed: data_dir.join("printed"),
            sim: SimScale::new(Duration::from_millis(300), Duration::from_millis(250)),
            reading: Arc::new(Mutex::new(ScaleReading {
                state: "starting",
                weight: None,
                device: Some(SIM_SCALE.into()),
                problem: None,
                frame_at_ms: None,
            })),
            task: Mutex::new(None),
            scanner: Mutex::new(None),
            jobs: Mutex::new(0),
        });
        bench.use_scale(Some(SIM_SCALE.into()));
        bench
    }

    pub fn list(&self) -> Vec<Detected> {
        let mut out = vec![
            Detected {
                id: SIM_SCALE.into(),
                kind: "scale",
                name: "Simulated scale (0-150 lb)".into(),
                transport: "simulated",
                note: None,
            },
            Detected {
                id: SIM_PRINTER.into(),
                kind: "printer",
                name: format!("Simulated printer (jobs in {})", self.printed.display()),
                transport: "simulated",
                note: None,
            },
        ];
        for f in discover::discover(&Default::default()) {
            // A serial port may be a scale speaking either protocol: offer both.
            if f.kind == FoundKind::SerialPort {
                for (p, words) in [("nci", "NCI"), ("sics", "Mettler Toledo SICS")] {
                    out.push(Detected {
                        id: format!("{}?protocol={p}", f.id),
                        kind: "scale",
                        name: format!("{} (serial scale, {words})", f.name),
                        transport: "serial",
                        note: f.note.clone(),
                    });
                }
                out.push(Detected {
                    id: f.id.clone(),
                    kind: "scanner",
                    name: format!("{} (scanner in serial mode)", f.name),
                    transport: "serial",
                    note: f.note.clone(),
                });
                continue;
            }
            let kind = match f.kind {
                FoundKind::Scale => "scale",
                FoundKind::Printer => "printer",
                FoundKind::BarcodeScanner => "scanner",
                // Keyboard-wedge scanners type into the window: nothing to choose.
                FoundKind::Keyboard => continue,
                FoundKind::SerialPort => continue,
                FoundKind::Other => continue,
            };
            out.push(Detected {
                id: f.id,
                kind,
                name: f.name,
                transport: f.transport,
                note: f.note,
            });
        }
        // Network and spooler printers are named, not found: PACKBENCH_PRINTERS lists them.
        if let Ok(list) = std::env::var("PACKBENCH_PRINTERS") {
            for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let transport = if id.starts_with("tcp://") {
                    "tcp"
                } else {
                    "spool"
                };
                out.push(Detected {
                    id: id.into(),
                    kind: "printer",
                    name: id.into(),
                    transport,
                    note: None,
                });
            }
        }
        out
    }

    pub fn current(&self) -> ScaleReading {
        if lock(&self.task).is_none() {
            return ScaleReading {
                state: "none",
                weight: None,
                device: None,
                problem: None,
                frame_at_ms: None,
            };
        }
        lock(&self.reading).clone()
    }

    /// Chooses the station's scale: a task starts to own it (the previous one stops).
    pub fn use_scale(&self, id: Option<String>) {
        let old = lock(&self.task).take();
        drop(old);
        let Some(id) = id else {
            let _ = self.app.emit("scale", self.current());
            return;
        };
        let (opener, protocol): (packbench_devices::scale_task::Opener, _) = if id == SIM_SCALE {
            let sim = self.sim.clone();
            (
                Box::new(move || Ok(Box::new(sim.transport()) as _)),
                ScaleProtocol::Hid,
            )
        } else if let Some(path) = id.strip_prefix("hid:") {
            let path = path.to_owned();
            (
                Box::new(move || {
                    Ok(Box::new(packbench_devices::transport::Hidraw::open(&path)?) as _)
                }),
                ScaleProtocol::Hid,
            )
        } else if let Ok(spec) = SerialScaleSpec::parse(&id) {
            let protocol = ScaleProtocol::Serial(spec.protocol);
            (Box::new(move || Ok(Box::new(spec.open()?) as _)), protocol)
        } else {
            let problem = format!(
                "`{id}` is not a scale Packbench can use (hid:/dev/hidrawN, serial:/dev/ttyUSB0?protocol=nci|sics)"
            );
            *lock(&self.reading) = ScaleReading {
                state: "unplugged",
                weight: None,
                device: Some(id),
                problem: Some(problem),
                frame_at_ms: None,
            };
            let _ = self.app.emit("scale", lock(&self.reading).clone());
            return;
        };
        let (app, reading, device) = (self.app.clone(), self.reading.clone(), id.clone());
        let task = ScaleTask::start(
            opener,
            protocol,
            move |e| {
                let view = reading_view(&e, &device);
                *lock(&reading) = view.clone();
                let _ = app.emit("scale", view);
            },
            ScaleTaskOptions::default(),
        );
        *lock(&self.task) = Some((id, task));
    }

    /// Chooses the station's scanner: a HID POS scanner (`hid:/dev/hidrawN`) or one in serial
    /// mode (`serial:/dev/ttyACM0[?baud=N]`) gets a task that sends each scan to the window as
    /// a `scan` event; anything else (a keyboard-wedge scanner, none) needs no task.
    pub fn use_scanner(&self, id: Option<String>) -> Result<(), String> {
        use packbench_devices::scanner_task::{ScannerProtocol, ScannerTask};
        use packbench_devices::transport::{Serial, SerialSettings};
        let old = lock(&self.scanner).take();
        drop(old);
        let Some(id) = id else { return Ok(()) };
        let (opener, protocol): (packbench_devices::task::Opener, _) =
            if let Some(path) = id.strip_prefix("hid:") {
                let numbered =
                    discover::hid_numbered(&Default::default(), path.as_ref()).unwrap_or(true);
                let path = path.to_owned();
                (
                    Box::new(move || {
                        Ok(Box::new(packbench_devices::transport::Hidraw::open(&path)?) as _)
                    }),
                    ScannerProtocol::Hid { numbered },
                )
            } else if let Some(rest) = id.strip_prefix("serial:") {
                let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
                let baud = query
                    .strip_prefix("baud=")
                    .map(|b| {
                        b.parse()
                            .map_err(|_| format!("baud is a number, not `{b}`"))
                    })
                    .transpose()?
                    .unwrap_or(9600);
                let path = path.to_owned();
                (
                    Box::new(move || {
                        Ok(Box::new(Serial::open(
                            &path,
                            SerialSettings {
                                baud,
                                seven_even: false,
                            },
                        )?) as _)
                    }),
                    ScannerProtocol::Serial,
                )
            } else {
                // Keyboard-wedge scanners type into the window.
                return Ok(());
            };
        let app = self.app.clone();
        *lock(&self.scanner) = Some(ScannerTask::start(
            opener,
            protocol,
            move |e| {
                let _ = app.emit("scan", e);
            },
            Duration::from_secs(1),
        ));
        Ok(())
    }

    pub fn zero(&self) {
        if let Some((_, task)) = lock(&self.task).as_ref() {
            task.send(ScaleCommand::Zero);
        }
    }

    /// The simulated scale: a load reads as moving, then settles to stable.
    pub fn simulate(&self, value: f64) {
        self.sim.load(value);
    }

    pub fn print(
        &self,
        printer: &str,
        format: &str,
        title: &str,
        bytes: Vec<u8>,
        fit: Fit,
    ) -> Result<PrinterStatusView, String> {
        if printer == SIM_PRINTER {
            std::fs::create_dir_all(&self.printed)
                .map_err(|e| format!("the simulated printer's folder: {e}"))?;
            let n = {
                let mut j = lock(&self.jobs);
                *j += 1;
                *j
            };
            let safe: String = title
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let path = self.printed.join(format!("{n:04}-{safe}.{format}"));
            std::fs::write(&path, &bytes)
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            // And what it would look like printed, for a ZPL label.
            if format == "zpl"
                && let Ok(png) =
                    packbench_labels::convert::zpl_to_png(&String::from_utf8_lossy(&bytes))
            {
                let _ = std::fs::write(path.with_extension("zpl.png"), png);
            }
            return Ok(ready());
        }
        let target = PrinterTarget::parse(printer).map_err(|e| e.to_string())?;
        let label;
        let job = match format {
            "zpl" => {
                label = packbench_labels::zpl::fit_label(
                    &String::from_utf8_lossy(&bytes),
                    fit.dpi,
                    fit.darkness,
                )
                .into_bytes();
                Job::Label(&label)
            }
            "png" => {
                let zpl = packbench_labels::zpl::png_label_at(&bytes, fit.dpi).map_err(|e| {
                    format!("the label image could not be converted for the printer: {e}")
                })?;
                label = packbench_labels::zpl::fit_label(&zpl, 203, fit.darkness).into_bytes();
                Job::Label(&label)
            }
            "pdf" => Job::Document(&bytes),
            other => return Err(format!("cannot print {other} files")),
        };
        target
            .print(job, Duration::from_secs(3))
            .map_err(|e| e.to_string())?;
        Ok(ready())
    }

    pub fn status(&self, printer: &str) -> PrinterStatusView {
        if printer == SIM_PRINTER {
            return ready();
        }
        match PrinterTarget::parse(printer).and_then(|t| t.status(Duration::from_secs(3))) {
            Ok(s) => PrinterStatusView {
                state: s.state,
                message: s.message,
            },
            Err(e) => PrinterStatusView {
                state: "offline",
                message: e.to_string(),
            },
        }
    }
}

fn ready() -> PrinterStatusView {
    PrinterStatusView {
        state: "ready",
        message: "Ready".into(),
    }
}

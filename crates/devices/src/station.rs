//! The station's bench as one piece: the scale, scanner and printers a station uses, chosen by
//! their [`DeviceId`]s, each scale or scanner owned by its task, everything it sees sent to one
//! sink as [`StationEvent`]s (the desktop shell forwards them to its window; tests collect
//! them). Printers: the simulated one (each job written to a folder, a ZPL label with a PNG of
//! it beside), and real ones through [`PrinterTarget`], labels fitted to the printer's
//! resolution and darkness first. The device list comes from [`discover`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use packbench_core::devices::{DeviceId, SerialPort, StationDevices};
use serde::Serialize;

use crate::discover::{self, FoundKind};
use crate::scale::{ScaleState, ScaleStatus};
use crate::scale_task::{ScaleCommand, ScaleEvent, ScaleProtocol, ScaleTask, ScaleTaskOptions};
use crate::scanner_task::{ScannerEvent, ScannerProtocol, ScannerTask};
use crate::serial_scale::SerialScaleSpec;
use crate::sim::SimScale;
use crate::target::{Job, PrinterTarget};
use crate::transport::{Hid, Serial, SerialSettings};

/// What the station's devices tell it, as they happen.
#[derive(Debug, Clone, PartialEq)]
pub enum StationEvent {
    /// The chosen scale's reading changed.
    Scale(ScaleReading),
    /// The chosen scanner (not a keyboard) scanned, was unplugged, or is ready.
    Scanner(ScannerEvent),
}

/// Where the station's events go.
pub type Sink = Arc<dyn Fn(StationEvent) + Send + Sync>;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub dpi: u16,
    pub darkness: Option<u8>,
}

impl Fit {
    /// The label printer's resolution and darkness, as the station's settings have them.
    pub fn of(devices: &StationDevices) -> Self {
        Self {
            dpi: devices.dpi,
            darkness: devices.darkness,
        }
    }
}

/// A station's devices.
pub struct Bench {
    sink: Sink,
    scanner: Mutex<Option<ScannerTask>>,
    printed: PathBuf,
    sim: SimScale,
    reading: Arc<Mutex<ScaleReading>>,
    task: Mutex<Option<(String, ScaleTask)>>,
    jobs: Mutex<u64>,
}

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
    /// The bench with the simulated scale chosen; the simulated printer writes to `printed`.
    pub fn new(sink: Sink, printed: PathBuf) -> Arc<Self> {
        let bench = Arc::new(Self {
            sink,
            printed,
            sim: SimScale::new(Duration::from_millis(300), Duration::from_millis(250)),
            reading: Arc::new(Mutex::new(ScaleReading {
                state: "starting",
                weight: None,
                device: Some(DeviceId::SimScale.to_string()),
                problem: None,
                frame_at_ms: None,
            })),
            task: Mutex::new(None),
            scanner: Mutex::new(None),
            jobs: Mutex::new(0),
        });
        bench.use_scale(Some(DeviceId::SimScale.to_string()));
        bench
    }

    /// What the station can use: the simulated scale and printer, what is plugged in, the OS's
    /// print queues, and the networked printers it was told of (`named_printers`: they cannot
    /// be found).
    pub fn list(&self, named_printers: &[String]) -> Vec<Detected> {
        let mut out = vec![
            Detected {
                id: DeviceId::SimScale.to_string(),
                kind: "scale",
                name: "Simulated scale (0-150 lb)".into(),
                transport: "simulated",
                note: None,
            },
            Detected {
                id: DeviceId::SimPrinter.to_string(),
                kind: "printer",
                name: format!("Simulated printer (jobs in {})", self.printed.display()),
                transport: "simulated",
                note: None,
            },
        ];
        let mut found = discover::discover(&Default::default());
        found.extend(discover::spool_printers());
        for f in found {
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
        for name in named_printers {
            if out.iter().any(|d| &d.id == name) {
                continue;
            }
            let transport = match name.parse::<DeviceId>() {
                Ok(DeviceId::Tcp(_)) => "tcp",
                Ok(DeviceId::Spool(_)) => "spool",
                Ok(DeviceId::Usb { .. }) => "usb",
                _ => continue,
            };
            out.push(Detected {
                id: name.clone(),
                kind: "printer",
                name: name.clone(),
                transport,
                note: None,
            });
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
        let Some(name) = id else {
            (self.sink)(StationEvent::Scale(self.current()));
            return;
        };
        let (opener, protocol): (crate::task::Opener, _) = match name.parse::<DeviceId>() {
            Ok(DeviceId::SimScale) => {
                let sim = self.sim.clone();
                (
                    Box::new(move || Ok(Box::new(sim.transport()) as _)),
                    ScaleProtocol::Hid,
                )
            }
            Ok(DeviceId::Hid(path)) => (
                Box::new(move || Ok(Box::new(Hid::open(&path)?) as _)),
                ScaleProtocol::Hid,
            ),
            Ok(DeviceId::Serial(port)) => {
                let spec = SerialScaleSpec::of(&port);
                let protocol = ScaleProtocol::Serial(spec.protocol);
                (Box::new(move || Ok(Box::new(spec.open()?) as _)), protocol)
            }
            _ => {
                let problem = format!(
                    "`{name}` is not a scale Packbench can use (hid:/dev/hidrawN, serial:/dev/ttyUSB0?protocol=nci|sics)"
                );
                let view = ScaleReading {
                    state: "unplugged",
                    weight: None,
                    device: Some(name),
                    problem: Some(problem),
                    frame_at_ms: None,
                };
                *lock(&self.reading) = view.clone();
                (self.sink)(StationEvent::Scale(view));
                return;
            }
        };
        let (sink, reading, device) = (self.sink.clone(), self.reading.clone(), name.clone());
        let task = ScaleTask::start(
            opener,
            protocol,
            move |e| {
                let view = reading_view(&e, &device);
                *lock(&reading) = view.clone();
                sink(StationEvent::Scale(view));
            },
            ScaleTaskOptions::default(),
        );
        *lock(&self.task) = Some((name, task));
    }

    /// Chooses the station's scanner: a HID POS scanner (`hid:/dev/hidrawN`) or one in serial
    /// mode (`serial:/dev/ttyACM0[?baud=N]`) gets a task that sends each scan as a
    /// [`StationEvent::Scanner`]; none (a keyboard-wedge scanner types into the window) needs
    /// no task. Another kind of device is refused.
    pub fn use_scanner(&self, id: Option<String>) -> Result<(), String> {
        let old = lock(&self.scanner).take();
        drop(old);
        let Some(name) = id else { return Ok(()) };
        let (opener, protocol): (crate::task::Opener, _) = match name
            .parse::<DeviceId>()
            .map_err(|e| e.to_string())?
        {
            DeviceId::Hid(path) => {
                let numbered = discover::numbered(&path).unwrap_or(true);
                (
                    Box::new(move || Ok(Box::new(Hid::open(&path)?) as _)),
                    ScannerProtocol::Hid { numbered },
                )
            }
            DeviceId::Serial(SerialPort { path, baud, .. }) => {
                let settings = SerialSettings {
                    baud: baud.unwrap_or(9600),
                    seven_even: false,
                };
                (
                    Box::new(move || Ok(Box::new(Serial::open(&path, settings)?) as _)),
                    ScannerProtocol::Serial,
                )
            }
            _ => {
                return Err(format!(
                    "`{name}` is not a scanner Packbench reads (hid:/dev/hidrawN, serial:/dev/ttyACM0); keyboard-wedge scanners need none"
                ));
            }
        };
        let sink = self.sink.clone();
        *lock(&self.scanner) = Some(ScannerTask::start(
            opener,
            protocol,
            move |e| sink(StationEvent::Scanner(e)),
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
        let id = printer.parse::<DeviceId>().map_err(|e| e.to_string())?;
        if id == DeviceId::SimPrinter {
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
        let target = PrinterTarget::of(&id).ok_or_else(|| {
            format!("`{printer}` is not a printer: choose one on the Devices screen")
        })?;
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
        if printer.parse::<DeviceId>() == Ok(DeviceId::SimPrinter) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A bench whose events are kept, and where its simulated printer writes.
    fn bench() -> (Arc<Bench>, Arc<Mutex<Vec<StationEvent>>>, tempfile::TempDir) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let kept = events.clone();
        let dir = tempfile::tempdir().unwrap();
        let bench = Bench::new(
            Arc::new(move |e| lock(&kept).push(e)),
            dir.path().join("printed"),
        );
        (bench, events, dir)
    }

    /// Waits (5 s at most) for a scale reading that `want` accepts.
    fn reading(
        events: &Mutex<Vec<StationEvent>>,
        want: impl Fn(&ScaleReading) -> bool,
    ) -> ScaleReading {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(r) = lock(events).iter().find_map(|e| match e {
                StationEvent::Scale(r) if want(r) => Some(r.clone()),
                _ => None,
            }) {
                return r;
            }
            assert!(std::time::Instant::now() < deadline, "{:?}", lock(events));
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn the_simulated_scale_settles_and_its_readings_reach_the_sink() {
        let (bench, events, _dir) = bench();
        bench.simulate(2.5);
        let stable = reading(&events, |r| {
            r.state == "stable"
                && r.weight
                    .as_ref()
                    .is_some_and(|w| (w.value - 2.5).abs() < 1e-9)
        });
        assert_eq!(stable.device.as_deref(), Some("sim:scale"));
        assert_eq!(stable.weight.unwrap().unit, "lb");
        assert!(stable.frame_at_ms.is_some());
        assert_eq!(bench.current().device.as_deref(), Some("sim:scale"));

        bench.use_scale(None);
        assert_eq!(bench.current().state, "none");
    }

    #[test]
    fn a_device_that_is_not_a_scale_reads_as_unplugged_with_the_reason() {
        let (bench, events, _dir) = bench();
        bench.use_scale(Some("tcp://10.0.0.5".into()));
        let r = reading(&events, |r| r.state == "unplugged");
        assert_eq!(r.device.as_deref(), Some("tcp://10.0.0.5"));
        assert!(r.problem.unwrap().contains("not a scale"));
        bench.use_scale(Some("hid:/dev/hidraw-not-here".into()));
        let r = reading(&events, |r| {
            r.state == "unplugged" && r.device.as_deref() == Some("hid:/dev/hidraw-not-here")
        });
        assert!(r.problem.is_some(), "{r:?}");
    }

    #[test]
    fn only_scanners_are_taken_as_scanners() {
        let (bench, _events, _dir) = bench();
        assert_eq!(bench.use_scanner(None), Ok(()));
        let e = bench.use_scanner(Some("sim:printer".into())).unwrap_err();
        assert!(e.contains("not a scanner"), "{e}");
        let e = bench.use_scanner(Some("wedge".into())).unwrap_err();
        assert!(e.contains("not a device"), "{e}");
    }

    #[test]
    fn the_simulated_printer_keeps_each_job_and_a_picture_of_each_label() {
        let (bench, _events, dir) = bench();
        let fit = Fit {
            dpi: 203,
            darkness: None,
        };
        let zpl = b"^XA^FO50,50^A0N,50,50^FDSAMPLE^FS^XZ".to_vec();
        let s = bench
            .print("sim:printer", "zpl", "#1001 label", zpl.clone(), fit)
            .unwrap();
        assert_eq!(s.state, "ready");
        let printed = dir.path().join("printed");
        assert_eq!(
            std::fs::read(printed.join("0001--1001-label.zpl")).unwrap(),
            zpl
        );
        let png = std::fs::read(printed.join("0001--1001-label.zpl.png")).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        bench
            .print("sim:printer", "pdf", "slip", b"%PDF-1.7".to_vec(), fit)
            .unwrap();
        assert!(printed.join("0002-slip.pdf").exists());
        let e = bench
            .print("usb:zebra", "zpl", "x", zpl.clone(), fit)
            .unwrap_err();
        assert!(e.contains("usb:VID:PID"), "{e}");
        let e = bench.print("sim:scale", "zpl", "x", zpl, fit).unwrap_err();
        assert!(e.contains("not a printer"), "{e}");
    }

    #[test]
    fn a_printer_nobody_answers_is_offline_in_words() {
        let (bench, _events, _dir) = bench();
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let s = bench.status(&format!("tcp://{closed}"));
        assert_eq!(s.state, "offline");
        assert!(s.message.contains(&closed.to_string()), "{}", s.message);
        assert_eq!(bench.status("sim:printer").state, "ready");
    }

    #[test]
    fn the_list_has_the_simulated_devices_and_the_named_printers() {
        let (bench, _events, _dir) = bench();
        let named = [
            "tcp://10.0.0.5:9100",
            "spool:Laser",
            "hid:/dev/hidraw1",
            "nonsense",
        ]
        .map(String::from);
        let list = bench.list(&named);
        assert_eq!(list[0].id, "sim:scale");
        assert_eq!(list[1].id, "sim:printer");
        let named: Vec<_> = list
            .iter()
            .filter(|d| d.transport == "tcp" || d.transport == "spool")
            .map(|d| (d.id.as_str(), d.kind))
            .collect();
        assert_eq!(
            named,
            [
                ("tcp://10.0.0.5:9100", "printer"),
                ("spool:Laser", "printer")
            ],
            "only printers are named; the rest is found"
        );
    }
}

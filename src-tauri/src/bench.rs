//! The bench devices as the station window sees them: thin Tauri commands over
//! `crates/devices`. Scale readings are pushed to the window as `scale` events (never polled).
//!
//! What is here today: a simulated scale (settles like a real one) and a simulated printer
//! (each job written to `<app data>/printed/`), raw TCP 9100 printers with `~HS` status
//! (`tcp://HOST:PORT`), and the OS spooler (`spool:QUEUE`, `lp -o raw`). USB scales, scanners
//! and printers over rusb are the devices issue's next slice.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use packbench_devices::printer::{self, PrinterProblem};
use packbench_devices::transport::Tcp;
use serde::Serialize;
use tauri::{AppHandle, Emitter};

#[derive(Debug, Clone, Serialize)]
pub struct Detected {
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    pub transport: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScaleReading {
    /// stable, moving, zero, under_zero, overload, asleep, unplugged, none
    pub state: &'static str,
    pub weight: Option<WeightView>,
    pub device: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WeightView {
    pub value: f64,
    pub unit: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrinterStatusView {
    /// ready, paper_out, head_open, paused, buffer_full, offline, unknown
    pub state: &'static str,
    pub message: String,
}

pub struct Bench {
    app: AppHandle,
    printed: PathBuf,
    scale: Mutex<Option<String>>,
    reading: Mutex<ScaleReading>,
    settle: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    jobs: Mutex<u64>,
}

const SIM_SCALE: &str = "sim:scale";
const SIM_PRINTER: &str = "sim:printer";

impl Bench {
    pub fn new(app: AppHandle, data_dir: PathBuf) -> Arc<Self> {
        Arc::new(Self {
            app,
            printed: data_dir.join("printed"),
            scale: Mutex::new(Some(SIM_SCALE.into())),
            reading: Mutex::new(ScaleReading {
                state: "zero",
                weight: Some(WeightView {
                    value: 0.0,
                    unit: "lb",
                }),
                device: Some(SIM_SCALE.into()),
            }),
            settle: Mutex::new(None),
            jobs: Mutex::new(0),
        })
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn list(&self) -> Vec<Detected> {
        let mut out = vec![
            Detected {
                id: SIM_SCALE.into(),
                kind: "scale",
                name: "Simulated scale (0-150 lb)".into(),
                transport: "simulated",
            },
            Detected {
                id: SIM_PRINTER.into(),
                kind: "printer",
                name: format!("Simulated printer (jobs in {})", self.printed.display()),
                transport: "simulated",
            },
        ];
        // Printers named in the environment (a TCP printer or a spooler queue per entry).
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
                });
            }
        }
        out
    }

    pub fn current(&self) -> ScaleReading {
        match Self::lock(&self.scale).as_deref() {
            Some(_) => Self::lock(&self.reading).clone(),
            None => ScaleReading {
                state: "none",
                weight: None,
                device: None,
            },
        }
    }

    fn publish(&self, r: ScaleReading) {
        *Self::lock(&self.reading) = r;
        let _ = self.app.emit("scale", self.current());
    }

    pub fn use_scale(&self, id: Option<String>) {
        *Self::lock(&self.scale) = id;
        let _ = self.app.emit("scale", self.current());
    }

    /// The simulated scale: a load reads as moving, then settles to stable.
    pub fn simulate(self: &Arc<Self>, value: f64) {
        if let Some(h) = Self::lock(&self.settle).take() {
            h.abort();
        }
        let w = |v: f64| {
            Some(WeightView {
                value: v,
                unit: "lb",
            })
        };
        let device = Some(SIM_SCALE.to_owned());
        if value <= 0.0 {
            return self.publish(ScaleReading {
                state: "zero",
                weight: w(0.0),
                device,
            });
        }
        if value > 150.0 {
            return self.publish(ScaleReading {
                state: "overload",
                weight: None,
                device,
            });
        }
        self.publish(ScaleReading {
            state: "moving",
            weight: w((value * 0.93 * 100.0).round() / 100.0),
            device: device.clone(),
        });
        let me = self.clone();
        *Self::lock(&self.settle) = Some(tauri::async_runtime::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            me.publish(ScaleReading {
                state: "stable",
                weight: w(value),
                device,
            });
        }));
    }

    pub fn print(
        &self,
        printer: &str,
        format: &str,
        title: &str,
        bytes: Vec<u8>,
    ) -> Result<PrinterStatusView, String> {
        if printer == SIM_PRINTER {
            std::fs::create_dir_all(&self.printed)
                .map_err(|e| format!("the simulated printer's folder: {e}"))?;
            let n = {
                let mut j = Self::lock(&self.jobs);
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
            return Ok(ready());
        }
        let job = match format {
            "zpl" => bytes,
            "png" => packbench_labels::zpl::png_label(&bytes)
                .map_err(|e| {
                    format!("the label image could not be converted for the printer: {e}")
                })?
                .into_bytes(),
            other => {
                return Err(format!(
                    "a label printer takes ZPL or PNG labels, not {other}; choose ZPL under Devices"
                ));
            }
        };
        if let Some(addr) = printer.strip_prefix("tcp://") {
            let mut t = Tcp::connect(addr, Duration::from_secs(3))
                .map_err(|e| format!("the printer at {addr} is not answering: {e}"))?;
            let status =
                printer::query_status(&mut t, Duration::from_secs(2)).map_err(|e| e.to_string())?;
            if !status.ready() {
                return Err(view(&status.problems).message);
            }
            printer::send_job(&mut t, &job).map_err(|e| e.to_string())?;
            return Ok(ready());
        }
        if let Some(queue) = printer.strip_prefix("spool:") {
            return spool(queue, &job);
        }
        Err(format!(
            "unknown printer `{printer}`: choose one under Devices"
        ))
    }

    pub fn status(&self, printer: &str) -> PrinterStatusView {
        if printer == SIM_PRINTER {
            return ready();
        }
        if let Some(addr) = printer.strip_prefix("tcp://") {
            return match Tcp::connect(addr, Duration::from_secs(3)) {
                Err(e) => PrinterStatusView {
                    state: "offline",
                    message: format!("not answering: {e}"),
                },
                Ok(mut t) => match printer::query_status(&mut t, Duration::from_secs(2)) {
                    Ok(s) => view(&s.problems),
                    Err(e) => PrinterStatusView {
                        state: "offline",
                        message: e.to_string(),
                    },
                },
            };
        }
        PrinterStatusView {
            state: "unknown",
            message: "the spooler does not report the printer's state".into(),
        }
    }
}

fn ready() -> PrinterStatusView {
    PrinterStatusView {
        state: "ready",
        message: "Ready".into(),
    }
}

fn view(problems: &[PrinterProblem]) -> PrinterStatusView {
    let state = match problems.first() {
        None => return ready(),
        Some(PrinterProblem::PaperOut) => "paper_out",
        Some(PrinterProblem::HeadOpen) => "head_open",
        Some(PrinterProblem::Paused) => "paused",
        Some(PrinterProblem::BufferFull) => "buffer_full",
        Some(_) => "unknown",
    };
    let message = problems
        .iter()
        .map(|p| p.describe())
        .collect::<Vec<_>>()
        .join("; ");
    PrinterStatusView {
        state,
        message: format!("The printer cannot print: {message}"),
    }
}

/// Through the OS spooler as a raw job (CUPS `lp -o raw`).
fn spool(queue: &str, job: &[u8]) -> Result<PrinterStatusView, String> {
    use std::io::Write;
    if queue.is_empty()
        || !queue
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        return Err(format!("`{queue}` is not a printer queue name"));
    }
    let mut child = std::process::Command::new("lp")
        .args(["-d", queue, "-o", "raw"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("the print spooler (lp) is not available: {e}"))?;
    child
        .stdin
        .take()
        .map(|mut s| s.write_all(job))
        .transpose()
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(ready())
    } else {
        Err(format!(
            "the spooler refused the job: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

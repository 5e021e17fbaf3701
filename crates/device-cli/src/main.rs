//! `packbench-device`: the bench's devices from a terminal, for setting a station up and for
//! finding what is wrong with one. The station reaches the same devices through the same
//! `packbench-devices` transports; this binary is apart from the hub's so the hub links no
//! USB library.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use packbench_core::devices::DeviceId;
use packbench_devices::serial_scale::SerialScaleSpec;

#[derive(Parser)]
#[command(
    name = "packbench-device",
    version,
    about = "Packbench bench devices: find them, weigh, print, ask a printer's state"
)]
enum DeviceCommand {
    /// What is plugged in: scales, scanners, printers and serial ports, with what Packbench
    /// thinks each is and anything in the way (permissions, a driver holding it).
    List,
    /// Send a file to a printer: a .zpl label, a .png label (converted to ZPL), or a .pdf
    /// (documents, through the spooler). --to tcp://HOST[:PORT] | usb:VID:PID | spool:QUEUE.
    Print {
        #[arg(long)]
        to: String,
        file: PathBuf,
    },
    /// A printer's state: ~HS for label printers, the queue's state for spool:QUEUE.
    Status {
        #[arg(long)]
        to: String,
    },
    /// One stable weight: --scale hid:/dev/hidrawN (a HID scale, see `device list`) or
    /// serial:/dev/ttyUSB0[?protocol=nci|sics&baud=9600].
    Weigh {
        #[arg(long)]
        scale: String,
    },
}

/// One stable, usable reading from a HID scale, through the scale task (10 s at most).
fn weigh_hid(path: &str) -> anyhow::Result<packbench_core::domain::Weight> {
    use packbench_devices::scale::ScaleState;
    use packbench_devices::scale_task::{ScaleTask, ScaleTaskOptions};
    use packbench_devices::transport::Hid;
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let node = path.to_owned();
    let _task = ScaleTask::start(
        Box::new(move || Ok(Box::new(Hid::open(&node)?) as _)),
        packbench_devices::scale_task::ScaleProtocol::Hid,
        move |e| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(e);
            }
        },
        ScaleTaskOptions::default(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = String::from("no reading");
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let Ok(e) = rx.recv_timeout(left) else { break };
        match e.state {
            ScaleState::Reading { reading, .. } => {
                if let Some(w) = reading.package_weight() {
                    return Ok(w);
                }
                last = reading.status.describe().to_owned();
            }
            ScaleState::Unplugged => {
                bail!(
                    "{}",
                    e.problem.unwrap_or_else(|| "the scale is unplugged".into())
                )
            }
            ScaleState::Asleep => last = "the scale is asleep: press its power button".into(),
            ScaleState::Unreadable => last = "its reports do not read as a scale's".into(),
            ScaleState::Starting => {}
        }
    }
    bail!("no stable weight within 10 s ({last}): put the box on the scale and keep it still")
}

fn run_device(command: DeviceCommand) -> anyhow::Result<()> {
    use packbench_devices::target::{Job, PrinterTarget};
    let timeout = std::time::Duration::from_secs(3);
    match command {
        DeviceCommand::List => {
            let mut found = packbench_devices::discover::discover(&Default::default());
            found.extend(packbench_devices::discover::spool_printers());
            if found.is_empty() {
                println!("no scales, scanners, printers or USB serial ports found");
            }
            for f in found {
                println!("{:<28} {:<40} {}", f.id, f.kind.describe(), f.name);
                if let Some(note) = f.note {
                    println!("{:<28} note: {note}", "");
                }
            }
            Ok(())
        }
        DeviceCommand::Print { to, file } => {
            let target = PrinterTarget::parse(&to)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let ext = file
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            let label;
            let job = match ext.as_deref() {
                Some("zpl") => Job::Label(&bytes),
                // Images go as a Z64 graphic field, 1 bit per dot.
                Some("png") => {
                    label = packbench_labels::zpl::png_label(&bytes)
                        .with_context(|| format!("{} is not a readable PNG", file.display()))?
                        .into_bytes();
                    Job::Label(&label)
                }
                Some("pdf") => Job::Document(&bytes),
                _ => bail!("print .zpl, .png or .pdf files"),
            };
            target.print(job, timeout)?;
            println!("sent {} bytes to {}", bytes.len(), target.id());
            Ok(())
        }
        DeviceCommand::Weigh { scale } => {
            let spec = match scale.parse::<DeviceId>() {
                Ok(DeviceId::Hid(path)) => {
                    let w = weigh_hid(&path)?;
                    println!("{:.2} {}", w.value(), w.unit().as_str());
                    return Ok(());
                }
                Ok(DeviceId::Serial(port)) => SerialScaleSpec::of(&port),
                Ok(_) => bail!(
                    "`{scale}` is not a scale: hid:/dev/hidrawN for a USB scale, serial:/dev/ttyUSB0[?protocol=nci|sics&baud=9600] (see `packbench-device list`)"
                ),
                Err(e) => bail!("{e}"),
            };
            let mut port = spec.open()?;
            let reading = packbench_devices::serial_scale::weigh_stable(
                &mut port,
                spec.protocol,
                10,
                timeout,
            )?;
            let w = reading
                .package_weight()
                .context("the reading is not a usable weight")?;
            println!("{:.2} {}", w.value(), w.unit().as_str());
            Ok(())
        }
        DeviceCommand::Status { to } => {
            let status = PrinterTarget::parse(&to)?.status(timeout)?;
            println!("{}", status.message);
            if !status.ready() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

fn main() -> anyhow::Result<()> {
    run_device(DeviceCommand::parse())
}

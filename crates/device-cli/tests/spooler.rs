//! Printing through the OS spooler to a real CUPS server (`.ci/cups-start`, named by
//! `PACKBENCH_TEST_CUPS`): Linux's `lp`/`lpstat`, or, when `PACKBENCH_DEVICE_EXE` names the
//! Windows build and `PACKBENCH_DEVICE_RUNNER` is Wine (`.ci/windows`), Windows' winspool
//! calls, whose jobs Wine hands to the same CUPS. The queue's device is a socket on loopback,
//! as a networked label printer's is (CUPS's `socket` backend), so the test holds the bytes
//! the printer got: they must be the label's, exactly.
//!
//! Without `PACKBENCH_TEST_CUPS` the test says so and passes, unless `PACKBENCH_REQUIRE_CUPS=1`
//! (CI sets it).

use std::io::Read;
use std::process::{Command, Output};
use std::sync::mpsc::Receiver;
use std::time::Duration;

fn server() -> Option<String> {
    match std::env::var("PACKBENCH_TEST_CUPS") {
        Ok(s) => Some(s),
        Err(_) if std::env::var("PACKBENCH_REQUIRE_CUPS").as_deref() == Ok("1") => {
            panic!("PACKBENCH_REQUIRE_CUPS=1 but no PACKBENCH_TEST_CUPS: run .ci/cups-start")
        }
        Err(_) => None,
    }
}

/// `packbench-device`: this build, or another through its runner (Wine).
struct Device {
    exe: String,
    runner: Option<String>,
    server: String,
}

impl Device {
    fn run(&self, args: &[&str]) -> Output {
        let mut c = match &self.runner {
            Some(r) => {
                let mut c = Command::new(r);
                c.arg(&self.exe);
                c
            }
            None => Command::new(&self.exe),
        };
        c.args(args)
            .env("CUPS_SERVER", &self.server)
            .output()
            .unwrap()
    }

    /// A file's path as the program reads it (Wine sees the Linux root as drive Z:).
    fn path(&self, p: &std::path::Path) -> String {
        let p = p.to_str().unwrap();
        match self.runner {
            Some(_) => format!("Z:{}", p.replace('/', "\\")),
            None => p.to_owned(),
        }
    }

    fn under_wine(&self) -> bool {
        self.runner.is_some()
    }
}

/// CUPS's admin commands, against the test's server.
fn admin(server: &str, cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .env("CUPS_SERVER", server)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (install cups-client)"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A queue on the server whose device is a socket here; removed when dropped.
struct Queue {
    name: String,
    server: String,
    jobs: Receiver<Vec<u8>>,
}

impl Queue {
    fn new(server: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, jobs) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut got = Vec::new();
                // CUPS's socket backend closes the connection at the job's end.
                if conn.read_to_end(&mut got).is_ok() && !got.is_empty() {
                    let _ = tx.send(got);
                }
            }
        });
        let name = format!("pb-test-{}-{port}", std::process::id());
        let uri = format!("socket://127.0.0.1:{port}");
        admin(server, "lpadmin", &["-p", &name, "-E", "-v", &uri]);
        Self {
            name,
            server: server.to_owned(),
            jobs,
        }
    }

    fn id(&self) -> String {
        format!("spool:{}", self.name)
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        let _ = Command::new("lpadmin")
            .args(["-x", &self.name])
            .env("CUPS_SERVER", &self.server)
            .output();
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_label_goes_through_the_spooler_byte_for_byte() {
    let Some(server) = server() else {
        eprintln!("no CUPS server (PACKBENCH_TEST_CUPS): skipped");
        return;
    };
    let device = Device {
        exe: std::env::var("PACKBENCH_DEVICE_EXE")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_packbench-device").to_owned()),
        runner: std::env::var("PACKBENCH_DEVICE_RUNNER").ok(),
        server: server.clone(),
    };
    let queue = Queue::new(&server);

    // Listed among the printers, and ready.
    let list = device.run(&["list"]);
    assert!(list.status.success(), "{}", text(&list));
    assert!(text(&list).contains(&queue.id()), "{}", text(&list));
    let status = device.run(&["status", "--to", &queue.id()]);
    assert_eq!(text(&status).trim(), "ready", "{}", text(&status));

    // A label with everything a printer language may hold: UTF-8 field data (^CI28), CRLF
    // line ends, a control character, a hex-escaped field (^FH) and a run of every byte value
    // a Z64 graphic could carry.
    let dir = tempfile::tempdir().unwrap();
    let mut label =
        "^XA^CI28\r\n^FO20,20^A0N,30^FDÅngström ✓ Müller^FS\r\n^FO20,60^FH^FD_7E tilde^FS\n"
            .as_bytes()
            .to_vec();
    label.push(0x1B);
    label.extend(b"^FO20,100^GFA,256,256,16,");
    label.extend((0..=255u8).map(|b| b"0123456789ABCDEF"[usize::from(b % 16)]));
    label.extend(b"^FS\r\n^XZ\r\n");
    let file = dir.path().join("label.zpl");
    std::fs::write(&file, &label).unwrap();
    let printed = device.run(&["print", "--to", &queue.id(), &device.path(&file)]);
    assert!(printed.status.success(), "{}", text(&printed));
    let got = queue
        .jobs
        .recv_timeout(Duration::from_secs(30))
        .expect("the printer got no job");
    assert_eq!(got, label, "the printer got other bytes than the label's");
    assert!(
        queue.jobs.recv_timeout(Duration::from_secs(1)).is_err(),
        "one job, once"
    );

    // A queue that is not there is said as such.
    let missing = device.run(&["status", "--to", "spool:pb-test-no-such-queue"]);
    assert!(
        text(&missing).contains("no such printer queue"),
        "{}",
        text(&missing)
    );

    // A stopped queue is said before a label waits in it. (Wine's GetPrinter does not pass on
    // CUPS's state: under Wine only the native half of this is checked.)
    if !device.under_wine() {
        admin(
            &server,
            "cupsdisable",
            &["-r", "Printer is out of paper", &queue.name],
        );
        let status = device.run(&["status", "--to", &queue.id()]);
        assert_eq!(
            text(&status).trim(),
            "stopped: Printer is out of paper",
            "{}",
            text(&status)
        );
        let refused = device.run(&["print", "--to", &queue.id(), &device.path(&file)]);
        assert!(!refused.status.success());
        assert!(
            text(&refused).contains("cannot print"),
            "{}",
            text(&refused)
        );
    }
}

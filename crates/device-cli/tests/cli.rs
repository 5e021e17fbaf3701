//! The `packbench-device` binary against stand-ins for the bench's devices: a printer on a
//! loopback port, a serial scale on a pseudo-terminal, a HID scale's node as a FIFO.

use std::io::Write;
use std::process::{Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_packbench-device");

/// Runs `packbench-device ARGS`: its output.
fn device(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// A printer on loopback port "9100": answers `~HS` with the given flags and keeps every job.
fn fake_printer(paper_out: bool) -> (String, std::sync::mpsc::Receiver<Vec<u8>>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            conn.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        if got.ends_with(b"~HS") {
                            let status = format!(
                                "\u{2}030,{},0,1218,000,0,0,0,000,0,0,0\u{3}\r\n\u{2}000,0,0,0,0,2,6,0,00000000,1,000\u{3}\r\n\u{2}1234,0\u{3}\r\n",
                                u8::from(paper_out)
                            );
                            conn.write_all(status.as_bytes()).unwrap();
                        }
                    }
                }
            }
            let _ = tx.send(got);
        }
    });
    (addr, rx)
}

#[test]
fn a_label_goes_to_a_9100_printer_after_a_status_check() {
    let dir = std::env::temp_dir().join(format!("packbench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let label = dir.join("label.zpl");
    std::fs::write(&label, "^XA^FO50,50^A0N,50,50^FDSAMPLE^FS^XZ").unwrap();

    let (addr, jobs) = fake_printer(false);
    let to = format!("tcp://{addr}");
    let r = device(&["print", "--to", &to, label.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let got = jobs.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        got, b"~HS^XA^FO50,50^A0N,50,50^FDSAMPLE^FS^XZ",
        "status first, then the job, byte for byte"
    );

    let (addr, jobs) = fake_printer(true);
    let to = format!("tcp://{addr}");
    let r = device(&["print", "--to", &to, label.to_str().unwrap()]);
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("out of labels"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(
        jobs.recv_timeout(Duration::from_secs(5)).unwrap(),
        b"~HS",
        "nothing printed on an empty printer"
    );
    let r = device(&["status", "--to", &to]);
    assert!(String::from_utf8_lossy(&r.stdout).contains("out of labels"));

    // A PNG label goes as a Z64 graphic field with the same dots.
    let mut img = image::GrayImage::from_pixel(812, 1218, image::Luma([255]));
    for x in 50..760 {
        img.put_pixel(x, 600, image::Luma([0]));
    }
    let png = dir.join("label.png");
    img.save(&png).unwrap();
    let (addr, jobs) = fake_printer(false);
    let r = device(&[
        "print",
        "--to",
        &format!("tcp://{addr}"),
        png.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let got = String::from_utf8(jobs.recv_timeout(Duration::from_secs(5)).unwrap()).unwrap();
    assert!(
        got.starts_with("~HS^XA^PW812^LL1218^FO0,0^GFA,"),
        "{}",
        &got[..40]
    );
    let dots = packbench_labels::zpl::parse_graphic_field(&got).unwrap();
    assert!(dots.is_black(50, 600) && dots.is_black(759, 600) && !dots.is_black(50, 601));
    std::fs::write(dir.join("broken.png"), b"not a png").unwrap();
    let r = device(&[
        "print",
        "--to",
        &format!("tcp://{addr}"),
        dir.join("broken.png").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("is not a readable PNG"));

    // Nobody listening: the error names the target.

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let r = device(&["status", "--to", &format!("tcp://{closed}")]);
    assert!(
        String::from_utf8_lossy(&r.stderr).contains(&closed),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_serial_scale_is_weighed_until_it_settles() {
    use std::io::Read;
    // A pseudo-terminal pair stands in for the USB-serial cable; the master side is the scale.
    let (mut scale, port) = serialport::TTYPort::pair().expect("a pseudo-terminal");
    let path = serialport::SerialPort::name(&port).expect("the port's path");
    std::thread::spawn(move || {
        let answers: [&[u8]; 2] = [b"\n0002.40lb\r\nM0\r\x03", b"\n0002.50lb\r\n00\r\x03"];
        let mut asked = 0;
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        serialport::SerialPort::set_timeout(&mut scale, Duration::from_secs(10)).unwrap();
        while asked < answers.len() {
            let Ok(n) = scale.read(&mut buf) else { return };
            got.extend_from_slice(&buf[..n]);
            while let Some(i) = got.windows(2).position(|w| w == b"W\r") {
                got.drain(..i + 2);
                scale.write_all(answers[asked]).unwrap();
                asked += 1;
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    });
    let r = device(&[
        "weigh",
        "--scale",
        &format!("serial:{path}?protocol=nci&baud=9600"),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(
        String::from_utf8_lossy(&r.stdout).trim(),
        "2.50 lb",
        "the settled weight, not the moving one"
    );
    let r = device(&["weigh", "--scale", "serial:/dev/does-not-exist"]);
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("/dev/does-not-exist"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = device(&["weigh", "--scale", &format!("serial:{path}?protocol=x")]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("nci or sics"));
    drop(port);
}

#[test]
fn a_hid_scale_is_weighed_through_its_hidraw_node() {
    // A FIFO stands in for /dev/hidraw: the scale's reports arrive one at a time, the first
    // (stale, from before the box) is dropped, the moving one is not a weight, the stable is.
    let dir = std::env::temp_dir().join(format!("packbench-hid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let node = dir.join("hidraw7");
    let _ = std::fs::remove_file(&node);
    assert!(
        Command::new("mkfifo")
            .arg(&node)
            .status()
            .unwrap()
            .success()
    );
    let writer = {
        let node = node.clone();
        std::thread::spawn(move || {
            let mut scale = std::fs::OpenOptions::new().write(true).open(&node).unwrap();
            for report in [
                [0x03, 0x04, 0x0C, 0xFE, 0x10, 0x27], // stale: 100.00 lb
                [0x03, 0x03, 0x0C, 0xFE, 0x00, 0x03], // moving: 7.68 lb
                [0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03], // stable: 7.85 lb
            ] {
                scale.write_all(&report).unwrap();
                std::thread::sleep(Duration::from_millis(150));
            }
        })
    };
    let r = device(&["weigh", "--scale", &format!("hid:{}", node.display())]);
    writer.join().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), "7.85 lb");

    let r = device(&["weigh", "--scale", "hid:/dev/hidraw-not-here"]);
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = device(&["print", "--to", "lpt1", "x.zpl"]);
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("usb:VID:PID"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = device(&["list"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

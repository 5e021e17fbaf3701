//! A label from the UPS sim goes to a fake Zebra on loopback port "9100": the printer is asked
//! `~HS` first, answers ready, receives the job; what it received is rendered back as a label
//! printer would print it and its tracking barcode read — the same number comes out.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use packbench_devices::target::{Job, PrinterTarget};
use packbench_sim::label::{LabelText, render, zpl};

/// Answers `~HS` as a ready printer and hands over everything else it receives.
fn fake_zebra() -> (String, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        let mut answered = false;
        loop {
            let n = s.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if !answered && got.starts_with(b"~HS") {
                s.write_all(b"\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n").unwrap();
                answered = true;
            }
        }
        let _ = tx.send(got);
    });
    (addr, rx)
}

#[test]
fn a_ups_label_prints_and_its_tracking_barcode_reads_back() {
    let tracking = "1Z999AA10123456784";
    let label = zpl(&render(&LabelText {
        tracking_number: tracking,
        service: "UPS GROUND",
        ship_to: vec![
            "ANN LEE".into(),
            "1 MAIN ST".into(),
            "DENVER CO 80202".into(),
        ],
        shipper: vec!["PACKBENCH DEMO".into(), "2 DOCK RD".into()],
        references: vec!["#1001".into()],
        weight: "4.5 LBS",
    }));
    let (addr, received) = fake_zebra();
    PrinterTarget::parse(&format!("tcp://{addr}"))
        .unwrap()
        .print(Job::Label(label.as_bytes()), Duration::from_secs(3))
        .unwrap();
    let got = received.recv_timeout(Duration::from_secs(5)).unwrap();
    let job = got.strip_prefix(b"~HS").expect("status asked first");
    assert_eq!(job, label.as_bytes(), "the job arrives byte for byte");

    let printed = packbench_labels::zpl_render::render(std::str::from_utf8(job).unwrap());
    let (w, h) = printed.dimensions();
    let read = rxing::helpers::detect_in_luma(
        printed.into_raw(),
        w,
        h,
        Some(rxing::BarcodeFormat::CODE_128),
    )
    .expect("a Code 128 on the printed label");
    assert_eq!(read.getText(), tracking);
}

//! Print request → last byte written to a loopback 9100 printer, for a 4x6 Z64 label
//! (BENCHMARKS.md). Run: `cargo bench -p packbench-devices --bench print`.
//!
//! Each request opens the connection, asks `~HS` and waits for the answer (as
//! `packbench-device print` does), then writes the whole job; the clock stops when the last
//! byte is handed to the socket. Measured twice: a ready ZPL label (what UPS returns), and a
//! PNG label converted to Z64 ZPL inside the request.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use packbench_devices::printer::{query_status, send_job};
use packbench_devices::transport::Tcp;

/// A busy 4x6 label at 203 dpi: barcode-like bars and text-like blocks (~20 % black).
fn label_png() -> Vec<u8> {
    let mut img = image::GrayImage::from_pixel(812, 1218, image::Luma([255]));
    let mut seed: u32 = 12345;
    let mut next = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (seed >> 16) & 0x7fff
    };
    // Two barcodes.
    for (top, bottom) in [(700u32, 900u32), (950, 1100)] {
        let mut x = 60;
        while x < 750 {
            let w = 2 + next() % 6;
            for xx in x..(x + w).min(752) {
                for y in top..bottom {
                    img.put_pixel(xx, y, image::Luma([0]));
                }
            }
            x += w + 2 + next() % 6;
        }
    }
    // Text lines: blocks of glyph-sized dark cells.
    for line in 0..20u32 {
        let y0 = 40 + line * 30;
        for g in 0..45u32 {
            if next() % 5 == 0 {
                continue;
            }
            for dx in 0..12 {
                for dy in 0..20 {
                    if next() % 3 == 0 {
                        img.put_pixel(40 + g * 16 + dx, y0 + dy, image::Luma([0]));
                    }
                }
            }
        }
    }
    let mut png = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

/// A printer on loopback that answers `~HS` and reads jobs to the end.
fn fake_printer() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                let mut seen = Vec::new();
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if seen.len() < 3 {
                                seen.extend_from_slice(&buf[..n.min(3)]);
                                if seen.starts_with(b"~HS") {
                                    let _ = conn.write_all(b"\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n");
                                }
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

fn measure(name: &str, addr: &str, runs: usize, job: impl Fn() -> Vec<u8>) {
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for i in 0..runs + 20 {
        let t = Instant::now();
        let bytes = job();
        let mut printer = Tcp::connect(addr, Duration::from_secs(2)).unwrap();
        assert!(
            query_status(&mut printer, Duration::from_secs(2))
                .unwrap()
                .ready()
        );
        send_job(&mut printer, &bytes).unwrap();
        let elapsed = t.elapsed();
        size = bytes.len();
        if i >= 20 {
            times.push(elapsed);
        }
    }
    times.sort();
    let pct = |p: f64| {
        times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1].as_secs_f64()
            * 1000.0
    };
    println!(
        "| {name} | {size} bytes | {runs} | {:.2} ms | {:.2} ms | {:.2} ms |",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

fn main() {
    let png = label_png();
    let zpl = packbench_labels::zpl::png_label(&png).unwrap().into_bytes();
    let addr = fake_printer();
    println!("| job | size | runs | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    measure("4x6 Z64 ZPL label", &addr, 300, || zpl.clone());
    measure(
        "4x6 PNG → Z64 ZPL, converted in the request",
        &addr,
        300,
        || packbench_labels::zpl::png_label(&png).unwrap().into_bytes(),
    );
}

//! Label conversions on a real 4x6 label (the UPS sim's SAMPLE label, 812x1218 at 203 dpi,
//! and UPS's own recorded GIF), BENCHMARKS.md. Run: `cargo bench -p packbench-labels`.
//!
//! Targets (the UPS issue): PNG → Z64 ZPL ≤ 5 ms; ZPL → PNG ≤ 15 ms; 4x6 PDF ≤ 10 ms per
//! label; Z64 ≤ 1/4 the size of the same graphic in ASCII hex.

use std::time::{Duration, Instant};

use base64::Engine;
use packbench_labels::convert;

fn time(name: &str, runs: usize, target_ms: Option<f64>, mut f: impl FnMut()) {
    for _ in 0..10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    let p =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    let p99 = p(0.99).as_secs_f64() * 1000.0;
    let verdict = match target_ms {
        Some(t) if p99 <= t => format!("target ≤ {t} ms  MET"),
        Some(t) => format!("target ≤ {t} ms  MISSED"),
        None => "no target (converted once per label, then kept)".into(),
    };
    println!(
        "{name:<28} p50 {:>7.2} ms  p99 {:>7.2} ms  {verdict}",
        p(0.5).as_secs_f64() * 1000.0,
        p99,
    );
}

fn main() {
    let label = packbench_sim::label::render(&packbench_sim::label::LabelText {
        tracking_number: "1ZSIM0010310000006",
        service: "UPS GROUND",
        ship_to: vec![
            "ADA LOVELACE".into(),
            "12 ANALYTICAL ENGINE WAY".into(),
            "AUSTIN TX 73301".into(),
        ],
        shipper: vec![
            "PACKBENCH DEMO CO".into(),
            "450 W 33RD ST".into(),
            "NEW YORK NY 10001".into(),
        ],
        references: vec!["shp_01jd0000000000".into(), "#1001".into()],
        weight: "2.5 LBS",
    });
    let png = packbench_sim::label::png(&label);
    let zpl = convert::png_to_zpl(&png).unwrap();
    let gif = packbench_sim::label::gif(&label);
    let ups: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            packbench_openapi::specs_dir()
                .join("ups/examples/ship_response_single_package_gif.upsdoc.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let ups_gif = base64::engine::general_purpose::STANDARD
        .decode(
            ups.pointer(
                "/ShipmentResponse/ShipmentResults/PackageResults/ShippingLabel/GraphicImage",
            )
            .and_then(|v| v.as_str())
            .unwrap(),
        )
        .unwrap();

    println!(
        "4x6 label, 812x1218 dots; {} runs each after 10 warm-ups (release build)",
        200
    );
    time("PNG -> Z64 ZPL", 200, Some(5.0), || {
        std::hint::black_box(convert::png_to_zpl(&png).unwrap());
    });
    time("ZPL (Z64) -> PNG preview", 200, Some(15.0), || {
        std::hint::black_box(convert::zpl_to_png(&zpl).unwrap());
    });
    time("PNG -> 4x6 PDF", 200, Some(10.0), || {
        std::hint::black_box(convert::png_to_pdf(&png).unwrap());
    });
    time("sim GIF -> 4x6 PNG", 100, None, || {
        std::hint::black_box(convert::image_to_png(&gif).unwrap());
    });
    time("UPS GIF -> 4x6 PNG", 100, None, || {
        std::hint::black_box(convert::image_to_png(&ups_gif).unwrap());
    });
    let bitmap = packbench_labels::zpl::parse_graphic_field(&zpl).unwrap();
    let hex_len = bitmap.bits.len() * 2;
    let z64_len = packbench_labels::zpl::z64_encode(&bitmap.bits).len();
    println!(
        "Z64 field {z64_len} bytes vs ASCII hex {hex_len} bytes: {:.1} % ({}; target ≤ 25 %)",
        100.0 * z64_len as f64 / hex_len as f64,
        if z64_len * 4 <= hex_len {
            "MET"
        } else {
            "MISSED"
        }
    );
}

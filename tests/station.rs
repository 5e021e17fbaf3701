//! The real desktop window under Xvfb, driven through tauri-driver and WebKitWebDriver
//! (shared/notes/tauri.md §5): the window opens, its in-process hub starts on loopback over
//! SQLite in the app data dir, and the page shows the hub's URL, which answers /health.
//!
//! Needs DISPLAY (run under `xvfb-run -a`) and `tauri-driver` on PATH; it says it is skipped
//! without them, unless PACKBENCH_REQUIRE_DESKTOP=1 (as in `make test`), where it fails.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: tauri-driver only stops its WebKitWebDriver child on a signal
        // it handles (shared/notes/tauri.md §5).
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn ready() -> bool {
    let required = std::env::var("PACKBENCH_REQUIRE_DESKTOP").as_deref() == Ok("1");
    let display = std::env::var_os("DISPLAY").is_some();
    let driver = Command::new("tauri-driver")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if display && driver {
        return true;
    }
    let why = format!("DISPLAY set: {display}, tauri-driver on PATH: {driver}");
    assert!(
        !required,
        "PACKBENCH_REQUIRE_DESKTOP=1 but the desktop test cannot run ({why})"
    );
    eprintln!("note: desktop window test skipped ({why}); make test runs it");
    false
}

fn http_get(url: &str) -> String {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).expect("the hub accepts connections");
    write!(
        s,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test]
async fn the_station_window_starts_its_own_hub() {
    if !ready() {
        return;
    }
    // Several rustls crypto providers are linked in; WebDriver here is plain HTTP anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = std::env::temp_dir().join(format!("packbench-station-{}", std::process::id()));
    let (port, native) = (
        4444 + (std::process::id() % 500) as u16,
        5444 + (std::process::id() % 500) as u16,
    );
    let _driver = Driver(
        Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("XDG_DATA_HOME", &data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver starts"),
    );
    let caps: serde_json::Map<String, serde_json::Value> =
        serde_json::from_value(serde_json::json!({
            "tauri:options": {"application": env!("CARGO_BIN_EXE_packbench-station")}
        }))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        match ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    };
    let mut url = String::new();
    while Instant::now() < deadline {
        url = client
            .find(Locator::Css("[data-testid=hub-url]"))
            .await
            .expect("the page renders")
            .text()
            .await
            .unwrap();
        if url.starts_with("http://127.0.0.1:") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the page shows the in-process hub, got `{url}`"
    );
    let health = http_get(&url);
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("\"ok\":true"),
        "{health}"
    );
    assert!(
        data.join("com.packbench.station")
            .join("packbench.sqlite")
            .exists(),
        "SQLite lives in the app data dir"
    );
    let version = client
        .find(Locator::Css("[data-testid=version]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        version,
        env!("CARGO_PKG_VERSION"),
        "a Tauri command answered through IPC"
    );
    client.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&data);
}

//! The real desktop window under Xvfb, driven through tauri-driver and WebKitWebDriver
//! (shared/notes/tauri.md §5). Standalone: the window starts its in-process hub over SQLite in
//! the app data dir, shows the first-run screen, opens the demo (sims in-process), logs in and
//! works an order, all through the bundled UI calling the hub cross-origin. Connected: the
//! window logs in to a hub running elsewhere (here, in the test process).
//!
//! Needs DISPLAY (run under `xvfb-run -a`) and `tauri-driver` on PATH; it says it is skipped
//! without them, unless PACKBENCH_REQUIRE_DESKTOP=1 (as in `make test`), where it fails.
//! Linux only: WebKitWebDriver drives WebKitGTK. (Windows' window is WebView2, which Wine
//! does not have.)

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

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

/// Runs a desktop test's steps when the window can be driven here; a WebDriver call that never
/// returns fails the test rather than hanging CI.
async fn guarded(steps: impl std::future::Future<Output = ()>) {
    if !ready() {
        return;
    }
    tokio::time::timeout(Duration::from_secs(150), steps)
        .await
        .expect("the desktop test took over 150 s: a WebDriver call hung");
}

/// An empty directory for one test's app data and config.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Starts tauri-driver and opens the station window with `env` set for the app.
async fn open_window(tag: u16, data: &Path, env: &[(&str, &str)]) -> (Driver, Client) {
    // Several rustls crypto providers are linked in; WebDriver here is plain HTTP anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let base = (std::process::id() % 400) as u16 * 2 + tag;
    let (port, native) = (4400 + base, 5400 + base);
    let mut cmd = Command::new("tauri-driver");
    cmd.args([
        "--port",
        &port.to_string(),
        "--native-port",
        &native.to_string(),
    ])
    .env("XDG_DATA_HOME", data.join("data"))
    .env("XDG_CONFIG_HOME", data.join("config"))
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let driver = Driver(cmd.spawn().expect("tauri-driver starts"));
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
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    };
    (driver, client)
}

/// Waits up to 30 s for `css` to be on the page. If it never appears, the panic says what the
/// window showed instead, and a screenshot of it is in `target/station-shots/never-appeared.png`.
async fn wait(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let shown = match c.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if let Ok(png) = c.screenshot().await {
                let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/station-shots");
                let _ = std::fs::create_dir_all(&dir);
                let _ = std::fs::write(dir.join("never-appeared.png"), png);
            }
            panic!("`{css}` never appeared ({e}); the window showed: {shown:?}")
        }
    }
}

async fn text(c: &Client, css: &str) -> String {
    wait(c, css).await.text().await.unwrap()
}

async fn fill(c: &Client, css: &str, value: &str) {
    let e = wait(c, css).await;
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/station-shots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

async fn log_in(c: &Client, tenant: &str, user: &str, password: &str) {
    fill(c, "input[name=tenant]", tenant).await;
    fill(c, "input[name=username]", user).await;
    fill(c, "input[name=password]", password).await;
    fill(c, "input[name=station]", "DESK-1").await;
    wait(c, "button[type=submit]").await.click().await.unwrap();
    wait(c, "[data-testid=queue-list] .qrow").await;
}

/// Calls a shell command from the window, as the page would: its answer, or its refusal.
async fn invoke(
    c: &Client,
    command: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let answer = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI__.core.invoke(arguments[0], arguments[1])
               .then((ok) => done({ ok }), (err) => done({ err: String(err) }));",
            vec![command.into(), args],
        )
        .await
        .unwrap();
    match answer.get("err") {
        Some(e) => Err(e.as_str().unwrap_or_default().to_owned()),
        None => Ok(answer["ok"].clone()),
    }
}

/// A test label for the shell's simulated printer.
fn test_label(tenant: &str, token: &str) -> serde_json::Value {
    serde_json::json!({
        "tenant": tenant, "token": token, "printer": "sim:printer", "format": "zpl",
        "title": "test", "bytes": b"^XA^FDtest^FS^XZ".to_vec(),
        "settings": {"printer": "sim:printer", "dpi": 203, "darkness": null},
    })
}

/// The text of the first column of every row `sql` reads from the SQLite file at `path`.
async fn sqlite_text(path: &Path, sql: &str) -> String {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}?mode=ro",
        path.display()
    ))
    .await
    .unwrap();
    let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap();
    rows.iter()
        .map(|r| r.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_station_window_runs_its_own_hub_and_opens_the_demo() {
    guarded(the_station_window_runs_its_own_hub_and_opens_the_demo_steps()).await;
}

async fn the_station_window_runs_its_own_hub_and_opens_the_demo_steps() {
    let dir = fresh_dir("packbench-station");
    let (_driver, c) = open_window(0, &dir, &[]).await;

    // First run: no warehouse yet. Open the demo (the sims run inside the app).
    wait(&c, "[data-testid=first-run]").await;
    // The window's content security policy holds: no eval, no script from elsewhere.
    let evaluated = c
        .execute(
            "try { return String(eval('1 + 1')); } catch (e) { return e.name; }",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(evaluated, "EvalError", "eval ran: the CSP is not applied");
    // Nobody is logged in: the shell prints nothing.
    let refused = invoke(&c, "print", test_label("demo", ""))
        .await
        .unwrap_err();
    assert!(refused.contains("log in at this station"), "{refused}");
    assert!(
        dir.join("data/com.packbench.station/packbench.sqlite")
            .exists(),
        "SQLite lives in the app data dir"
    );
    shot(&c, "01-first-run.png").await;
    wait(&c, "[data-testid=open-demo]")
        .await
        .click()
        .await
        .unwrap();
    let password = text(&c, "[data-testid=demo-password-packer]").await;
    // The first run is over: it cannot be taken again (another warehouse, another demo).
    for (command, args) in [
        ("open_demo", serde_json::json!({})),
        (
            "create_tenant",
            serde_json::json!({"name": "Rogue", "slug": "rogue", "username": "eve", "password": "a long password"}),
        ),
    ] {
        let e = invoke(&c, command, args).await.unwrap_err();
        assert!(e.contains("already set up"), "{command}: {e}");
    }
    // A made-up session prints nothing either.
    let refused = invoke(&c, "print", test_label("demo", "pbt_made-up"))
        .await
        .unwrap_err();
    assert!(refused.contains("log in at this station"), "{refused}");
    wait(&c, "[data-testid=demo-continue]")
        .await
        .click()
        .await
        .unwrap();

    // The demo's UPS and Shopify secrets are sealed, with the key in the OS keyring (in a
    // file beside the database on a desktop without one).
    let data = dir.join("data/com.packbench.station");
    let kept = std::fs::read_to_string(data.join("secret-key.where")).unwrap();
    if std::env::var("PACKBENCH_REQUIRE_KEYRING").as_deref() == Ok("1") {
        assert_eq!(kept, "keyring");
    }
    assert_eq!(data.join("secret.key").exists(), kept == "file");
    let settings = sqlite_text(
        &data.join("packbench.sqlite"),
        "select document from tenant_setting",
    )
    .await;
    assert!(
        settings.contains("\"client_secret\":\"sealed:v1:"),
        "{settings}"
    );

    // The bundled UI (tauri://localhost) logs in to the in-process hub over CORS.
    log_in(&c, "demo", "packer", &password).await;
    assert!(text(&c, "[data-testid=who]").await.contains("DESK-1"));
    shot(&c, "02-queue.png").await;

    // Work an order in the window: take it, scan a wrong item, then weigh on the shell's
    // simulated scale, whose readings arrive as Tauri events.
    c.execute(
        "document.querySelector('[data-testid=take-next]').click()",
        vec![],
    )
    .await
    .unwrap();
    let field = wait(&c, "[data-testid=scan-field]").await;
    field.send_keys("036000291452\u{E007}").await.unwrap();
    // The wrong scan stands until answered (Esc), so no scan after it is taken as a pick.
    wait(&c, "[data-testid=sticky-error]").await;
    shot(&c, "03-wrong-scan.png").await;
    field.send_keys("\u{E00C}").await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        c.find(Locator::Css("[data-testid=sticky-error]"))
            .await
            .is_err(),
        "Esc answers the wrong scan"
    );
    // Pick the rest by hand is an admin thing; the packer scans every line's SKU instead.
    let skus: Vec<String> = {
        let rows = c
            .find_all(Locator::Css("[data-testid=line]"))
            .await
            .unwrap();
        let mut out = Vec::new();
        for r in rows {
            let sku = r.attr("data-sku").await.unwrap().unwrap();
            let qty = r
                .find(Locator::Css("td.num"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let total: u32 = qty
                .split('/')
                .nth(1)
                .unwrap()
                .trim()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            for _ in 0..total {
                out.push(sku.clone());
            }
        }
        out
    };
    for sku in &skus {
        let field = wait(&c, "[data-testid=scan-field]").await;
        field.send_keys(&format!("{sku}\u{E007}")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    wait(&c, "[data-testid=pack-step]").await;
    fill(&c, "[data-testid=sim-scale-load]", "4.5").await;
    wait(&c, "[data-testid=sim-scale-place]")
        .await
        .click()
        .await
        .unwrap();
    wait(&c, "[data-testid=scale][data-state=stable]").await;
    assert_eq!(text(&c, "[data-testid=scale-weight]").await, "4.50 lb");
    shot(&c, "04-weighed.png").await;

    // A test print on the simulated printer: the job and a picture of it in the app's folder.
    wait(&c, "[data-nav=devices]").await.click().await.unwrap();
    wait(&c, "[data-testid=test-print]")
        .await
        .click()
        .await
        .unwrap();
    wait(&c, "[data-testid=printer-status]").await;
    let printed = dir.join("data/com.packbench.station/printed");
    let files: Vec<String> = std::fs::read_dir(&printed)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with(".zpl")) && files.iter().any(|f| f.ends_with(".zpl.png")),
        "{files:?}"
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn a_connected_station_logs_in_to_a_shared_hub() {
    guarded(a_connected_station_logs_in_to_a_shared_hub_steps()).await;
}

async fn a_connected_station_logs_in_to_a_shared_hub_steps() {
    let dir = fresh_dir("packbench-connected");
    std::fs::create_dir_all(&dir).unwrap();
    // The shared hub: SQLite, the demo tenant on the sims, on loopback in this process.
    let store = packbench_store::SqlStore::connect(&format!(
        "sqlite://{}",
        dir.join("hub.sqlite").display()
    ))
    .await
    .unwrap()
    .with_secret_key(packbench_store::SecretKey::generate());
    let state = Arc::new(packbench_server::AppState::new(Arc::new(store)));
    let demo = packbench_server::demo::start(&state, 5).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(packbench_server::serve(
        listener,
        state.clone(),
        packbench_server::HubOptions::default(),
        std::future::pending(),
    ));

    let (_driver, c) = open_window(1, &dir, &[("PACKBENCH_HUB_URL", &hub)]).await;
    wait(&c, "[data-testid=login]").await;
    // The station's scanner is one in serial mode: a pseudo-terminal stands in for its cable
    // (made after the window's process started, so that process does not inherit its master
    // side and the cable can be pulled).
    let (mut scanner, port) = serialport::TTYPort::pair().expect("a pseudo-terminal");
    let port = serialport::SerialPort::name(&port).unwrap();
    state
        .fulfillment
        .save_device_settings(
            &demo.tenant.id,
            "DESK-1",
            &serde_json::json!({"scanner": format!("serial:{port}")}),
        )
        .await
        .unwrap();
    assert!(
        !dir.join("data/com.packbench.station/packbench.sqlite")
            .exists(),
        "a connected station keeps no database of its own"
    );
    log_in(&c, "demo", "admin", &demo.logins.admin_password).await;
    let rows = c
        .find_all(Locator::Css("[data-testid=queue-list] .qrow"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 5, "the shared hub's orders");
    // The shell prints for this session, checked with the shared hub, and for no other.
    let session = c
        .execute(
            "return JSON.parse(sessionStorage.getItem('packbench.session'))",
            vec![],
        )
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    invoke(&c, "print", test_label("demo", &token))
        .await
        .expect("a logged-in station prints");
    // The shell reads the station's device settings typed: a wrong one is named, not guessed.
    let mut bad = test_label("demo", &token);
    bad["settings"]["dpi"] = 600.into();
    let refused = invoke(&c, "print", bad).await.unwrap_err();
    assert!(refused.contains("dpi is 203 or 300"), "{refused}");
    let refused = invoke(&c, "print", test_label("demo", "pbt_made-up"))
        .await
        .unwrap_err();
    assert!(refused.contains("log in at this station"), "{refused}");
    // A scan from the serial scanner (read by the shell, sent to the window as an event)
    // opens the order it names, as a keyboard-wedge scan would.
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::io::Write::write_all(&mut scanner, b"]C0#1002\r\n").unwrap();
    wait(&c, "[data-testid=order-name]").await;
    assert!(
        text(&c, "[data-testid=order-name]")
            .await
            .starts_with("#1002"),
        "the scanned order is open"
    );
    c.execute("history.back()", vec![]).await.unwrap();
    // The scanner's cable is pulled: the station says so, with the reason.
    drop(scanner);
    wait(&c, "[data-testid=scanner-problem]").await;
    // An admin sees Settings, read from the shared hub.
    wait(&c, "[data-nav=settings]").await.click().await.unwrap();
    let domain = wait(&c, "[data-testid=shop-domain]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(domain.as_deref(), Some("packbench-demo.myshopify.com"));
    shot(&c, "05-connected-settings.png").await;
    c.close().await.unwrap();
}

#[tokio::test]
async fn the_first_run_makes_the_warehouse_and_its_admin() {
    guarded(the_first_run_makes_the_warehouse_and_its_admin_steps()).await;
}

async fn the_first_run_makes_the_warehouse_and_its_admin_steps() {
    let dir = fresh_dir("packbench-first-run");
    let (_driver, c) = open_window(2, &dir, &[]).await;
    wait(&c, "[data-testid=first-run]").await;
    fill(&c, "input[name=warehouse]", "Acme East").await;
    fill(&c, "input[name=slug]", "acme-east").await;
    fill(&c, "input[name=admin-password]", "short").await;
    wait(&c, "[data-testid=create-warehouse]")
        .await
        .click()
        .await
        .unwrap();
    // The browser's own check stops a short password before the shell is asked.
    assert!(c.find(Locator::Css("[data-testid=login]")).await.is_err());
    fill(&c, "input[name=admin-password]", "a long admin password").await;
    wait(&c, "[data-testid=create-warehouse]")
        .await
        .click()
        .await
        .unwrap();
    wait(&c, "[data-testid=login]").await;
    fill(&c, "input[name=username]", "admin").await;
    fill(&c, "input[name=password]", "a long admin password").await;
    wait(&c, "button[type=submit]").await.click().await.unwrap();
    wait(&c, "[data-nav=settings]").await;
    assert!(text(&c, "[data-testid=who]").await.contains("acme-east"));
    assert!(
        text(&c, "[data-testid=queue-list]")
            .await
            .contains("No orders here")
    );
    shot(&c, "06-first-run-warehouse.png").await;
    c.close().await.unwrap();
}

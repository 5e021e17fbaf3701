//! The Packbench station: a Tauri window over the web UI in `ui/` (bundled with the app).
//!
//! Standalone mode (the default) runs the hub in-process on 127.0.0.1 over SQLite in the app's
//! data directory, so one bench needs no server. Connected mode (`PACKBENCH_HUB_URL`, or
//! `hub_url` in `<app config>/station.json`) points the window at a shared hub instead. Either
//! way the window calls the hub over HTTP with a bearer token (the hub allows the window's
//! origin, `tauri://localhost`, by CORS), and reaches the bench devices only through the
//! commands below, which only forward to the crates in `crates/` (the bench's devices are
//! `packbench_devices::station`).

mod station_key;

use packbench_core::ports::AccountStore;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use packbench_core::devices::StationDevices;
use packbench_core::domain::{TenantSlug, parse_username};
use packbench_devices::station::{
    Bench, Detected, Fit, PrinterStatusView, ScaleReading, StationEvent,
};
use packbench_server::AppState;
use serde::Serialize;
use tauri::{Emitter, Manager};
use tokio::sync::{OnceCell, watch};

/// What the window needs to know about the shell (`shell_info`).
#[derive(Debug, Clone, Serialize)]
struct ShellInfo {
    mode: &'static str,
    hub_url: Option<String>,
    /// Standalone with no warehouse yet: the window shows the first-run screen.
    first_run: bool,
    version: &'static str,
    error: Option<String>,
    /// `PACKBENCH_SCALE_PROBE=N`: the window measures N simulated scale frames to the screen
    /// (the frame → screen benchmark, `ui/e2e/desktop-bench.mjs`).
    scale_probe: Option<u32>,
}

struct Shell {
    info: watch::Sender<ShellInfo>,
    /// The in-process hub (standalone mode only).
    hub: Arc<OnceCell<Arc<AppState>>>,
    bench: Arc<Bench>,
    /// Standalone with no warehouse yet, and no first-run step taken: `create_tenant` or
    /// `open_demo` may run, once.
    first_run_open: Arc<AtomicBool>,
    /// Whom `print` has checked with the hub lately: the session token's hash, and when.
    stations: std::sync::Mutex<HashMap<String, Instant>>,
}

/// How long a station's session, once checked with the hub, is taken as logged in for `print`.
const STATION_FRESH_FOR: Duration = Duration::from_secs(30);

/// Takes the first-run step (making the warehouse, or opening the demo: one of them, once), or
/// says why not.
fn take_first_run(shell: &Shell) -> Result<FirstRunStep<'_>, String> {
    if shell.first_run_open.swap(false, Ordering::SeqCst) {
        Ok(FirstRunStep(&shell.first_run_open, true))
    } else {
        Err("this station's warehouse is already set up: log in, or ask its admin".to_owned())
    }
}

/// The first-run step under way: given back if it fails, so the form can be sent again.
struct FirstRunStep<'a>(&'a AtomicBool, bool);

impl FirstRunStep<'_> {
    fn done(mut self) {
        self.1 = false;
    }
}

impl Drop for FirstRunStep<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

/// `print` only for a station logged in to the hub: the window's session (its tenant and
/// token) is checked with the in-process hub, or the connected one (`auth/me`).
async fn require_station(shell: &Shell, tenant: &str, token: &str) -> Result<(), String> {
    let refused = || "print refused: log in at this station first".to_owned();
    if token.is_empty() {
        return Err(refused());
    }
    let key = packbench_core::service::accounts::hash_token(token);
    let fresh = shell
        .stations
        .lock()
        .ok()
        .and_then(|m| m.get(&key).copied());
    if fresh.is_some_and(|at| at.elapsed() < STATION_FRESH_FOR) {
        return Ok(());
    }
    let at_station = match shell.hub.get() {
        Some(hub) => {
            let Ok(t) = hub.tenant(tenant).await else {
                return Err(refused());
            };
            let now = hub.fulfillment.clock().now();
            matches!(hub.session(&t.id, &key, now).await, Ok(Some(s)) if s.station_id.is_some())
        }
        None => {
            let Some(base) = shell.info.borrow().hub_url.clone() else {
                return Err(refused());
            };
            connected_station(&base, tenant, token).await
        }
    };
    if !at_station {
        return Err(refused());
    }
    if let Ok(mut m) = shell.stations.lock() {
        m.retain(|_, at| at.elapsed() < STATION_FRESH_FOR);
        m.insert(key, Instant::now());
    }
    Ok(())
}

/// Whether the connected hub knows `token` as a session at a station of `tenant`.
async fn connected_station(base: &str, tenant: &str, token: &str) -> bool {
    let Ok(tenant) = TenantSlug::parse(tenant) else {
        return false;
    };
    let me = reqwest::Client::new()
        .get(format!("{base}/api/{tenant}/auth/me"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let Ok(me) = me else { return false };
    if !me.status().is_success() {
        return false;
    }
    me.json::<serde_json::Value>()
        .await
        .is_ok_and(|v| v["data"]["station_id"].is_string())
}

#[tauri::command]
fn shell_info(shell: tauri::State<'_, Shell>) -> ShellInfo {
    shell.info.borrow().clone()
}

#[tauri::command]
fn app_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// When the process started (for the cold-start benchmark).
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The window calls this once its first screen (login or first run) takes input. With
/// `PACKBENCH_STARTUP_PROBE=1` the time since start goes to stdout for `ui/e2e/desktop-bench.mjs`.
fn scale_probe() -> Option<u32> {
    std::env::var("PACKBENCH_SCALE_PROBE").ok()?.parse().ok()
}

/// The window's measurements in probe mode, printed for the benchmark script.
#[tauri::command]
fn probe_report(name: String, mut values: Vec<f64>) {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        values
            .get(((values.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "probe {name} n={} p50={:.1} p99={:.1} max={:.1}",
        values.len(),
        at(0.50),
        at(0.99),
        values.last().copied().unwrap_or(f64::NAN)
    );
}

#[tauri::command]
fn ui_ready(shell: tauri::State<'_, Shell>, screen: String) {
    // Probe mode: once the window listens, load the simulated scale N times, 40 ms apart.
    if let Some(n) = shell.info.borrow().scale_probe {
        let bench = shell.bench.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            for i in 0..n {
                bench.simulate(1.0 + f64::from(i % 40) * 0.5);
                std::thread::sleep(std::time::Duration::from_millis(40));
            }
        });
    }
    if std::env::var_os("PACKBENCH_STARTUP_PROBE").is_some()
        && let Some(t) = STARTED.get()
    {
        println!(
            "ui-ready {screen} {:.1} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
}

fn local_hub(shell: &Shell) -> Result<Arc<AppState>, String> {
    shell.hub.get().cloned().ok_or_else(|| {
        "this station is connected to a shared hub: warehouses are set up there".to_owned()
    })
}

/// First run: makes this station's warehouse and its first admin.
/// A first-run form, checked: what is wrong is said in the form's words.
#[derive(Debug, PartialEq)]
struct NewWarehouse {
    name: String,
    slug: TenantSlug,
    username: String,
}

fn new_warehouse(
    name: &str,
    slug: &str,
    username: &str,
    password: &str,
) -> Result<NewWarehouse, String> {
    let slug = TenantSlug::parse(slug.trim()).map_err(|e| format!("short name: {e}"))?;
    let username = parse_username(username.trim()).map_err(|e| format!("username: {e}"))?;
    // The one password policy (the accounts service's), said in the form's words.
    packbench_core::service::accounts::check_new_password(password)
        .map_err(|e| format!("the admin {e}"))?;
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err("the warehouse needs a name of 1-100 characters".into());
    }
    Ok(NewWarehouse {
        name: name.to_owned(),
        slug,
        username,
    })
}

#[tauri::command]
async fn create_tenant(
    shell: tauri::State<'_, Shell>,
    name: String,
    slug: String,
    username: String,
    password: String,
) -> Result<String, String> {
    let hub = local_hub(&shell)?;
    let NewWarehouse {
        name,
        slug,
        username,
    } = new_warehouse(&name, &slug, &username, &password)?;
    let step = take_first_run(&shell)?;
    let (t, _) = hub
        .fulfillment
        .create_tenant_with_admin(&slug, &name, &username, &password)
        .await
        .map_err(|e| e.to_string())?;
    step.done();
    shell.info.send_modify(|i| i.first_run = false);
    Ok(t.slug.to_string())
}

#[derive(Serialize)]
struct DemoAnswer {
    tenant: String,
    logins: Vec<(String, String)>,
}

/// Opens the demo warehouse on the Shopify and UPS sims (in this process, on loopback).
#[tauri::command]
async fn open_demo(shell: tauri::State<'_, Shell>) -> Result<DemoAnswer, String> {
    let hub = local_hub(&shell)?;
    let step = take_first_run(&shell)?;
    let demo = packbench_server::demo::start(&hub, 40)
        .await
        .map_err(|e| format!("{e:#}"))?;
    step.done();
    shell.info.send_modify(|i| i.first_run = false);
    Ok(DemoAnswer {
        tenant: demo.tenant.slug.to_string(),
        logins: vec![
            ("admin".into(), demo.logins.admin_password),
            ("packer".into(), demo.logins.packer_password),
        ],
    })
}

#[tauri::command]
async fn devices_list(shell: tauri::State<'_, Shell>) -> Result<Vec<Detected>, String> {
    // Off the window's thread: discovery reads sysfs and asks the spooler (`lpstat`, which may
    // wait on a CUPS server elsewhere).
    let bench = shell.bench.clone();
    tauri::async_runtime::spawn_blocking(move || bench.list(&named_printers()))
        .await
        .map_err(|e| e.to_string())
}

/// Networked printers cannot be found, only named: `PACKBENCH_PRINTERS` lists them
/// (comma-separated device names). The spooler's queues are listed by the bench itself.
fn named_printers() -> Vec<String> {
    std::env::var("PACKBENCH_PRINTERS")
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[tauri::command]
fn scale_current(shell: tauri::State<'_, Shell>) -> ScaleReading {
    shell.bench.current()
}

#[tauri::command]
fn scale_use(shell: tauri::State<'_, Shell>, id: Option<String>) {
    shell.bench.use_scale(id);
}

#[tauri::command]
fn scale_zero(shell: tauri::State<'_, Shell>) {
    shell.bench.zero();
}

#[tauri::command]
fn scanner_use(shell: tauri::State<'_, Shell>, id: Option<String>) -> Result<(), String> {
    shell.bench.use_scanner(id)
}

/// Puts a load on the simulated scale (demos, training, the desktop test).
#[tauri::command]
fn scale_simulate(shell: tauri::State<'_, Shell>, value: f64) {
    shell.bench.simulate(value);
}

/// Prints a job, for a station logged in to the hub (`tenant` and `token` are the window's
/// session).
#[tauri::command]
#[allow(
    clippy::too_many_arguments,
    reason = "a Tauri command takes the window's fields"
)]
async fn print(
    shell: tauri::State<'_, Shell>,
    tenant: String,
    token: String,
    printer: String,
    format: String,
    title: String,
    bytes: Vec<u8>,
    settings: serde_json::Map<String, serde_json::Value>,
) -> Result<PrinterStatusView, String> {
    require_station(&shell, &tenant, &token).await?;
    let devices = StationDevices::parse(&settings).map_err(|e| e.message)?;
    let bench = shell.bench.clone();
    let fit = Fit::of(&devices);
    tauri::async_runtime::spawn_blocking(move || bench.print(&printer, &format, &title, bytes, fit))
        .await
        .map_err(|e| e.to_string())?
}

#[tauri::command]
async fn printer_status(
    shell: tauri::State<'_, Shell>,
    printer: String,
) -> Result<PrinterStatusView, String> {
    let bench = shell.bench.clone();
    tauri::async_runtime::spawn_blocking(move || bench.status(&printer))
        .await
        .map_err(|e| e.to_string())
}

/// The hub this station is connected to, if it is not standalone.
fn connected_hub(config_dir: &Path) -> Option<String> {
    if let Ok(url) = std::env::var("PACKBENCH_HUB_URL")
        && !url.trim().is_empty()
    {
        return Some(url.trim().trim_end_matches('/').to_owned());
    }
    let doc = std::fs::read(config_dir.join("station.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&doc).ok()?;
    v.get("hub_url")
        .and_then(|u| u.as_str())
        .map(|u| u.trim_end_matches('/').to_owned())
}

/// Starts the in-process hub on a loopback port over SQLite in `data_dir`.
async fn start_hub(
    data_dir: PathBuf,
    info: watch::Sender<ShellInfo>,
    cell: Arc<OnceCell<Arc<AppState>>>,
    first_run_open: Arc<AtomicBool>,
) -> Result<(), String> {
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
    let url = packbench_store::sqlite_url(&data_dir.join("packbench.sqlite"));
    let (key, kept) = station_key::station_key(&data_dir)?;
    eprintln!(
        "packbench: the secrets' key ({}) is kept in {kept:?}",
        key.id()
    );
    let store = packbench_store::SqlStore::connect(&url)
        .await
        .map_err(|e| format!("opening the station database: {e}"))?;
    let (store, _) = store.sealed_with(key).await.map_err(|e| {
        let why = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
        format!("the station database's secrets: {why}")
    })?;
    let tenants = store.tenants().await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("binding the hub: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = Arc::new(AppState::new(Arc::new(store)));
    let _ = cell.set(state.clone());
    // The demo's sims live in this process: after a restart, reconnect the demo to new ones.
    if tenants.iter().any(|t| t.slug.as_str() == "demo")
        && let Err(e) = packbench_server::demo::start(&state, 40).await
    {
        eprintln!("packbench: the demo's sims did not start: {e:#}");
    }
    packbench_server::spawn_background(&state, Duration::from_secs(15 * 60));
    first_run_open.store(tenants.is_empty(), Ordering::SeqCst);
    info.send_modify(|i| {
        i.hub_url = Some(format!("http://{addr}"));
        i.first_run = tenants.is_empty();
    });
    packbench_server::serve(
        listener,
        state,
        packbench_server::HubOptions::default(),
        std::future::pending(),
    )
    .await
    .map_err(|e| format!("the hub stopped: {e}"))
}

/// WebKitGTK keeps its smallest caches: the station's pages are plain forms and lists.
#[cfg(target_os = "linux")]
fn tune_webview(app: &tauri::App) {
    use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.with_webview(|wv| {
            if let Some(context) = wv.inner().context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn tune_webview(_app: &tauri::App) {}

/// The window's content security policy (tauri.conf.json: scripts and styles of the app's own,
/// calls to the in-process hub on loopback) opened to the connected hub's origin, if any.
fn allow_connected_hub(context: &mut tauri::Context<tauri::Wry>) {
    use tauri::utils::config::Csp;
    let config_dir =
        directories::BaseDirs::new().map(|d| d.config_dir().join(&context.config().identifier));
    let Some(hub) = config_dir.as_deref().and_then(connected_hub) else {
        return;
    };
    let Ok(url) = url::Url::parse(&hub) else {
        return;
    };
    let origin = url.origin().ascii_serialization();
    if let Some(Csp::DirectiveMap(map)) = &mut context.config_mut().app.security.csp {
        for directive in ["connect-src", "img-src"] {
            map.entry(directive.to_owned()).or_default().push(&origin);
        }
    }
}

pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    // Windows draws the window with the WebView2 Runtime (Windows 11 has it; Windows 10 may
    // not): without it Tauri would panic while opening the window.
    #[cfg(windows)]
    if let Err(e) = tauri::webview_version() {
        eprintln!(
            "packbench: the station's window needs the Microsoft Edge WebView2 Runtime ({e}): install it from https://go.microsoft.com/fwlink/p/?LinkId=2124703 and start Packbench again"
        );
        std::process::exit(1);
    }
    let mut context = tauri::generate_context!();
    allow_connected_hub(&mut context);
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![
            shell_info,
            app_version,
            ui_ready,
            probe_report,
            scanner_use,
            create_tenant,
            open_demo,
            devices_list,
            scale_current,
            scale_use,
            scale_zero,
            scale_simulate,
            print,
            printer_status
        ])
        .setup(move |app| {
            let data_dir = app.path().app_data_dir()?;
            let config_dir = app.path().app_config_dir()?;
            let connected = connected_hub(&config_dir);
            let (tx, _) = watch::channel(ShellInfo {
                mode: if connected.is_some() {
                    "connected"
                } else {
                    "standalone"
                },
                hub_url: connected.clone(),
                first_run: false,
                version: env!("CARGO_PKG_VERSION"),
                error: None,
                scale_probe: scale_probe(),
            });
            tune_webview(app);
            let hub = Arc::new(OnceCell::new());
            // The bench's events go to the window as they happen (never polled).
            let window = app.handle().clone();
            let bench = Bench::new(
                Arc::new(move |e| {
                    let _ = match e {
                        StationEvent::Scale(reading) => window.emit("scale", reading),
                        StationEvent::Scanner(scan) => window.emit("scan", scan),
                    };
                }),
                data_dir.join("printed"),
            );
            let first_run_open = Arc::new(AtomicBool::new(false));
            app.manage(Shell {
                info: tx.clone(),
                hub: hub.clone(),
                bench,
                first_run_open: first_run_open.clone(),
                stations: std::sync::Mutex::new(HashMap::new()),
            });
            if connected.is_none() {
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = start_hub(data_dir, tx.clone(), hub, first_run_open).await {
                        eprintln!("packbench: {e}");
                        tx.send_modify(|i| i.error = Some(e));
                    }
                });
            }
            Ok(())
        })
        .run(context);
    if let Err(e) = result {
        eprintln!("packbench: the station window could not start: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_run_form_is_checked_in_its_own_words() {
        let ok = new_warehouse(" Dock 4 ", "dock-4", " ann ", "a long password").unwrap();
        assert_eq!(ok.name, "Dock 4");
        assert_eq!(ok.slug.as_str(), "dock-4");
        for (name, slug, user, password, says) in [
            ("Dock", "Dock 4", "ann", "a long password", "short name"),
            ("Dock", "dock", "a b", "a long password", "username"),
            ("Dock", "dock", "ann", "short", "10 to 1024"),
            ("  ", "dock", "ann", "a long password", "1-100"),
            (&"x".repeat(101), "dock", "ann", "a long password", "1-100"),
        ] {
            let e = new_warehouse(name, slug, user, password).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}

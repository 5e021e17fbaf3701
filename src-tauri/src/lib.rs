//! The Packbench station: a Tauri window over the web UI. In standalone mode (the default) the
//! shell runs the hub in-process on 127.0.0.1 with SQLite in the app's data directory, so one
//! bench needs no server. The shell holds no business logic: commands are a few lines each
//! over the crates in `crates/`.

use std::sync::Arc;

use tauri::Manager;

/// Where this station's hub answers.
struct Hub {
    url: tokio::sync::watch::Receiver<Option<String>>,
}

/// The hub's base URL once it is listening (`null` while it starts).
#[tauri::command]
fn hub_url(hub: tauri::State<'_, Hub>) -> Option<String> {
    hub.url.borrow().clone()
}

#[tauri::command]
fn app_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Starts the in-process hub on a loopback port over SQLite in `data_dir`.
async fn start_hub(
    data_dir: std::path::PathBuf,
    publish: tokio::sync::watch::Sender<Option<String>>,
) -> Result<(), String> {
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
    let url = format!("sqlite://{}", data_dir.join("packbench.sqlite").display());
    let store = packbench_store::SqlStore::connect(&url)
        .await
        .map_err(|e| format!("opening the station database: {e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("binding the hub: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let _ = publish.send(Some(format!("http://{addr}")));
    let state = Arc::new(packbench_server::AppState::new(Arc::new(store)));
    packbench_server::tracking::spawn_poller(
        state.clone(),
        std::time::Duration::from_secs(15 * 60),
    );
    packbench_server::serve(
        listener,
        state,
        packbench_server::HubOptions::default(),
        std::future::pending(),
    )
    .await
    .map_err(|e| format!("the hub stopped: {e}"))
}

pub fn run() {
    let (tx, rx) = tokio::sync::watch::channel(None);
    let result = tauri::Builder::default()
        .manage(Hub { url: rx })
        .invoke_handler(tauri::generate_handler![hub_url, app_version])
        .setup(move |app| {
            let data_dir = app.path().app_data_dir()?;
            tauri::async_runtime::spawn(async move {
                if let Err(e) = start_hub(data_dir, tx).await {
                    eprintln!("packbench: {e}");
                }
            });
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("packbench: the station window could not start: {e}");
        std::process::exit(1);
    }
}

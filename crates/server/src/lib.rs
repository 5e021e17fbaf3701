//! The Packbench hub: the REST API of DESIGN.md §4 (axum), its auth, and the pieces the
//! `packbench` CLI puts together. `router(state)` is kept apart from `serve()` so tests can
//! drive the app in-process or on a loopback port.

mod api_doc;
pub mod auth;
pub mod demo;
pub mod dto;
pub mod error;
pub mod extract;
mod housekeeping;
pub mod local;
mod routes;
pub mod state;
pub mod tracking;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use state::AppState;

/// Options of the hub that are not business settings.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// A built web UI (`ui/dist`) to serve at `/`, if any.
    pub ui_dir: Option<PathBuf>,
}

/// Origins of the desktop station's window (Tauri serves its bundled UI from these), which
/// calls the hub cross-origin with a bearer token: `tauri://localhost` on Linux and macOS,
/// `http(s)://tauri.localhost` on Windows. No web page can claim them, and no cookie is
/// accepted cross-origin (credentials are not allowed), so nothing else is opened up.
pub const DESKTOP_ORIGINS: [&str; 3] = [
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

fn desktop_cors() -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    tower_http::cors::CorsLayer::new()
        .allow_origin(DESKTOP_ORIGINS.map(HeaderValue::from_static))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(Duration::from_secs(600))
}

/// The whole HTTP app.
pub fn router(state: Arc<AppState>, options: &HubOptions) -> Router {
    let (api, api_paths) = routes::api().split_for_parts();
    let api = api
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed);
    let doc = Arc::new(api_doc::document(api_paths));
    let mut app = Router::new()
        .route("/health", get(api_doc::health))
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        )
        .nest("/api/{tenant}", api);
    app = match &options.ui_dir {
        Some(dir) => app
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => app.fallback(routes::not_found),
    };
    app.layer(DefaultBodyLimit::max(routes::MAX_BODY))
        .layer(desktop_cors())
        // A bug must not drop the connection: answer 500 in the envelope, log it.
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            tracing::error!("a request handler panicked");
            error::ApiError::new(packbench_core::ErrorCode::Internal, "something went wrong on the hub; try again, and tell an admin if it persists")
                .into_response()
        }))
        .layer(
            // One line per request: method and path (never the query, headers or body, which
            // may hold tokens or passwords), status and latency.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// The hub's background work: the UPS tracking poller (every `track_every`), the webhook
/// inbox sweeper, the periodic Shopify reconcile, and letting go of stale login counts.
pub fn spawn_background(state: &Arc<AppState>, track_every: Duration) {
    tracking::spawn_poller(state.clone(), track_every);
    webhooks::spawn_sweeper(state.clone(), Duration::from_secs(30));
    webhooks::spawn_reconciler(state.clone(), Duration::from_secs(10 * 60));
    housekeeping::spawn_login_sweeper(state.clone(), Duration::from_secs(15 * 60));
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    options: HubOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state, &options);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    // Give in-flight requests a moment; axum's graceful shutdown waits for them.
    tokio::time::sleep(Duration::from_millis(10)).await;
}

//! Packbench's sims: stand-ins for the outside services on loopback, speaking their real wire
//! formats, so the demo, training and tests run the real clients (DESIGN.md §5). Labels they
//! issue say SAMPLE.

// The sims stand in for outside services, which keep their own time: they read the wall clock,
// not the hub's `Clock` (clippy.toml).
#![allow(clippy::disallowed_methods)]

pub mod label;
pub mod shopify;
pub mod ups;

use std::net::SocketAddr;

pub use shopify::{ShopifySim, ShopifySimConfig};
pub use ups::{UpsSim, UpsSimConfig};

/// Serves a router on a free loopback port; answers its address.
pub async fn serve_loopback(router: axum::Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "sim stopped");
        }
    });
    Ok(addr)
}

//! `packbench-ship-load`: the UPS issue's shipping benchmarks (BENCHMARKS.md), against the
//! real client and the UPS sim on loopback, with a hub on loopback HTTP over SQLite.
//!
//! 1. Ship overhead: `ship` operations one after another with the sim answering at once; the
//!    time the sim spent on each call (its own clock) is subtracted from the request's
//!    latency, leaving what Packbench adds (HTTP, workflow, storage, the client, the label).
//! 2. Batch ship: `POST batches/ship` for N packed orders with the sim taking 250 ms per ship
//!    call and concurrency 8; wall time against the ideal ceil(N / 8) × 250 ms.
//!
//! Usage: packbench-ship-load [--overhead-orders 500] [--batch-orders 1000] [--latency-ms 250] [--concurrency 8]

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use packbench_core::domain::{Package, Quantity, Weight, WeightUnit};
use packbench_core::model::Actor;
use packbench_core::ports::{Clock, SystemClock};
use packbench_core::service::Operation;
use packbench_core::workflow::PickItem;
use packbench_server::{AppState, demo};
use packbench_sim::{UpsSim, UpsSimConfig};
use packbench_store::SqlStore;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 500)]
    overhead_orders: usize,
    #[arg(long, default_value_t = 1000)]
    batch_orders: usize,
    #[arg(long, default_value_t = 250)]
    latency_ms: u64,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    ms(sorted[i])
}

/// `n` sample orders taken to `packed` through the service (not timed).
async fn packed_orders(
    app: &AppState,
    store: &dyn packbench_core::ports::Store,
    tenant: &packbench_core::domain::TenantId,
    admin: &Actor,
    n: usize,
    seed: u64,
) -> anyhow::Result<Vec<String>> {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let now = SystemClock.now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let order = store
            .insert_order(
                tenant,
                &demo::sample_order(seed * 1_000_000 + i as u64, now, &mut rng),
                now,
            )
            .await?;
        let id = order.id().clone();
        let items = order
            .lines()
            .iter()
            .map(|l| {
                Ok(PickItem {
                    sku: Some(l.sku.clone()),
                    barcode: None,
                    quantity: Quantity::new(i64::from(l.quantity))?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let f = &app.fulfillment;
        f.operate(tenant, &id, Operation::Assign { user: None }, admin)
            .await?;
        f.operate(tenant, &id, Operation::Pick { items }, admin)
            .await?;
        let package = Package {
            weight: Weight::new(2.5, WeightUnit::Lb)?,
            dimensions: None,
            r#box: None,
        };
        f.operate(
            tenant,
            &id,
            Operation::Pack {
                package,
                more_boxes: Vec::new(),
                weigh_in: Default::default(),
            },
            admin,
        )
        .await?;
        ids.push(id.as_str().to_owned());
    }
    Ok(ids)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("packbench-ship-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = SqlStore::connect(&packbench_store::sqlite_url(&dir.join("bench.sqlite")))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_secret_key(packbench_store::SecretKey::generate());
    let store: Arc<dyn packbench_core::ports::Store> = Arc::new(store);
    let state = Arc::new(AppState::new(store.clone()));
    let (tenant, logins) = demo::prepare(&state.fulfillment).await?;
    let sim = UpsSim::new(UpsSimConfig::default())?;
    demo::connect_ups_sim(&state, &tenant, &sim).await?;
    let hub = packbench_server::local::LocalHub::serve(state.clone()).await?;
    let base = hub.api(tenant.slug.as_str());
    let http = reqwest::Client::new();
    let login = hub
        .login(&http, tenant.slug.as_str(), "admin", &logins.admin_password)
        .await?;
    let token = login["token"].as_str().unwrap_or_default().to_owned();
    let admin_id = login["user"]["id"].as_str().unwrap_or_default();
    let admin = Actor {
        user_id: packbench_core::domain::UserId::parse(admin_id).ok(),
        station_id: Some("bench".into()),
    };

    // 1. Overhead.
    let ids = packed_orders(
        &state,
        store.as_ref(),
        &tenant.id,
        &admin,
        args.overhead_orders,
        1,
    )
    .await?;
    let before = sim.ship_times().len();
    let mut latencies = Vec::with_capacity(ids.len());
    for id in &ids {
        let t = Instant::now();
        let r = http
            .post(format!("{base}/orders/{id}/operations"))
            .bearer_auth(&token)
            .json(&json!({"action": "ship", "service": "ground"}))
            .send()
            .await?;
        let status = r.status();
        let body = r.bytes().await?;
        latencies.push(t.elapsed());
        anyhow::ensure!(
            status.is_success(),
            "ship failed: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let sim_times = &sim.ship_times()[before..];
    anyhow::ensure!(
        sim_times.len() == latencies.len(),
        "one ship call per order"
    );
    let mut overhead: Vec<Duration> = latencies
        .iter()
        .zip(sim_times)
        .map(|(l, s)| l.saturating_sub(*s))
        .collect();
    overhead.sort();
    let mut sorted = latencies.clone();
    sorted.sort();
    let mut carrier: Vec<Duration> = sim_times.to_vec();
    carrier.sort();
    println!(
        "ship overhead ({} orders, one at a time): p50 {:.2} ms  p99 {:.2} ms  (target p99 ≤ 20 ms: {})",
        ids.len(),
        percentile(&overhead, 0.5),
        percentile(&overhead, 0.99),
        if percentile(&overhead, 0.99) <= 20.0 {
            "MET"
        } else {
            "MISSED"
        }
    );
    println!(
        "  request latency p50 {:.2} ms  p99 {:.2} ms; inside the sim p50 {:.2} ms  p99 {:.2} ms",
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99),
        percentile(&carrier, 0.5),
        percentile(&carrier, 0.99),
    );

    // 2. Batch ship.
    let ids = packed_orders(
        &state,
        store.as_ref(),
        &tenant.id,
        &admin,
        args.batch_orders,
        2,
    )
    .await?;
    sim.configure(|c| c.latency_ms = args.latency_ms);
    let t = Instant::now();
    let r: Value = http
        .post(format!("{base}/batches/ship"))
        .bearer_auth(&token)
        .json(&json!({"order_ids": ids, "service": "ground", "concurrency": args.concurrency}))
        .timeout(Duration::from_secs(600))
        .send()
        .await?
        .json()
        .await?;
    let wall = t.elapsed();
    let ideal = Duration::from_millis(
        (args.batch_orders.div_ceil(args.concurrency) as u64) * args.latency_ms,
    );
    let over = wall.as_secs_f64() / ideal.as_secs_f64() - 1.0;
    println!(
        "batch ship {} orders, {} ms per UPS call, concurrency {}: {:.2} s (ideal {:.2} s, +{:.1} %; target within 10 %: {}); shipped {}, failed {}",
        args.batch_orders,
        args.latency_ms,
        args.concurrency,
        wall.as_secs_f64(),
        ideal.as_secs_f64(),
        over * 100.0,
        if over <= 0.10 { "MET" } else { "MISSED" },
        r["data"]["shipped"],
        r["data"]["failed"],
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

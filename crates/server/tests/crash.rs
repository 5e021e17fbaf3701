//! A hub killed (SIGKILL, no shutdown) in the middle of a Shopify import: after a restart the
//! import resumes by itself, and the bench ends with exactly the orders a clean import brings —
//! nothing lost, nothing doubled. And one killed while operators work: what it answered holds. Run on SQLite and on PostgreSQL, with the real `packbench`
//! binary, the real Shopify client and the Shopify sim on loopback.

#[allow(dead_code, reason = "each test binary uses part of it")]
mod common;

use packbench_core::ports::AccountStore;
use packbench_core::ports::OrderStore;
use packbench_core::ports::{Clock, SystemClock};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use packbench_sim::{ShopifySim, ShopifySimConfig};
use serde_json::{Value, json};

use common::{Hub, new_bench};

/// The sim's store: 3,000 orders (12 pages of 250), each page answered after 60 ms, so the
/// import lasts long enough to be cut.
fn sim_config() -> ShopifySimConfig {
    ShopifySimConfig {
        orders: 3_000,
        latency_ms: 60,
        ..ShopifySimConfig::default()
    }
}

impl Hub {
    async fn connect_shop(&self, sim_addr: std::net::SocketAddr, cfg: &ShopifySimConfig) {
        let base = format!(
            "http://{sim_addr}/admin/api/{}",
            packbench_shopify::API_VERSION
        );
        self.ok(
            reqwest::Method::PATCH,
            "/settings",
            Some(json!({"shopify": {"shop_domain": "acme.myshopify.com",
                                    "access_token": cfg.access_token,
                                    "api_base_url": base,
                                    "location_ids": [cfg.locations[0]]}})),
        )
        .await;
    }

    async fn order_count(&self) -> u64 {
        let c = self.ok(reqwest::Method::GET, "/orders/counts", None).await;
        c["data"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum()
    }

    /// Every order at the bench, by name, with what the queue shows of it.
    async fn orders(&self) -> BTreeMap<String, Value> {
        let mut all = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/orders?limit=200&cursor={c}"),
                None => "/orders?limit=200".to_owned(),
            };
            let page = self.ok(reqwest::Method::GET, &path, None).await;
            for o in page["data"].as_array().unwrap() {
                let name = o["name"].as_str().unwrap().to_owned();
                let seen = json!([o["status"], o["customer_name"], o["line_count"], o["units"]]);
                assert!(
                    all.insert(name.clone(), seen).is_none(),
                    "{name} is at the bench twice"
                );
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        all
    }
}

async fn a_crash_mid_import_loses_and_doubles_nothing(crashed_db: String, clean_db: String) {
    let cfg = sim_config();
    let sim = ShopifySim::new(cfg.clone());
    let sim_addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();

    // What a clean import brings.
    new_bench(&clean_db);
    let clean = Hub::start(&clean_db, &[]).await;
    clean.connect_shop(sim_addr, &cfg).await;
    let report = clean
        .ok(reqwest::Method::POST, "/sync", Some(json!({})))
        .await;
    let expected = clean.orders().await;
    assert_eq!(
        report["data"]["created"].as_u64().unwrap() as usize,
        expected.len()
    );
    assert!(expected.len() > 2_500, "{}", expected.len());

    // The same import, cut by SIGKILL once some pages are in.
    new_bench(&crashed_db);
    let mut hub = Hub::start(&crashed_db, &[]).await;
    hub.connect_shop(sim_addr, &cfg).await;
    let sync = {
        let (http, base, token) = (hub.http.clone(), hub.base.clone(), hub.token.clone());
        tokio::spawn(async move {
            http.post(format!("{base}/api/acme/sync"))
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let n = hub.order_count().await;
        if n >= 500 {
            break n;
        }
        assert!(Instant::now() < deadline, "the import never got going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    hub.process.start_kill().unwrap();
    hub.process.wait().await.unwrap();
    assert!(
        sync.await.unwrap().is_err(),
        "the sync was cut before it answered"
    );
    assert!(
        (at_kill as usize) < expected.len(),
        "killed mid-import: {at_kill} of {}",
        expected.len()
    );

    // Restarted: whatever was committed is there, and the hub's reconciler resumes the import
    // at once (an explicit sync on top of it must not double anything either).
    let hub = Hub::start(&crashed_db, &[]).await;
    let after_restart = hub.order_count().await;
    assert!(
        after_restart >= at_kill,
        "committed pages survive: {after_restart} < {at_kill}"
    );
    eprintln!(
        "killed at {at_kill} orders, {after_restart} after restart, {} in a clean import",
        expected.len()
    );
    hub.ok(reqwest::Method::POST, "/sync", Some(json!({})))
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while (hub.order_count().await as usize) < expected.len() {
        assert!(Instant::now() < deadline, "the import did not resume");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resumed = hub.orders().await;
    assert_eq!(
        resumed.len(),
        expected.len(),
        "nothing lost, nothing doubled"
    );
    for (name, order) in &expected {
        assert_eq!(resumed.get(name), Some(order), "{name}");
    }

    // Each order was imported once: one `imported` event, however many syncs saw it.
    for name in expected.keys().step_by(97) {
        let found = hub
            .ok(
                reqwest::Method::GET,
                &format!("/orders?q={}", name.trim_start_matches('#')),
                None,
            )
            .await;
        let id = found["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == json!(name))
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .expect("found by name");
        let detail = hub
            .ok(reqwest::Method::GET, &format!("/orders/{id}"), None)
            .await;
        let imported = detail["data"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "imported")
            .count();
        assert_eq!(imported, 1, "{name}: {}", detail["data"]["events"]);
    }
}

/// A hub killed (SIGKILL) while eight operators claim, pick and pack: every answer it gave
/// before it died still holds after a restart (on SQLite those writes were committed in groups),
/// each order's events match its version (no write half kept), and no order went to two
/// operators.
async fn acknowledged_operations_survive_a_crash(db: String) {
    use std::sync::{Arc, Mutex};

    new_bench(&db);
    {
        let store = packbench_store::SqlStore::connect(&db).await.unwrap();
        let tenant = store.tenant_by_slug("acme").await.unwrap().unwrap();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        let now = SystemClock.now();
        let orders: Vec<_> = (0..400u64)
            .map(|i| {
                let created = now - chrono::TimeDelta::seconds(400 - i as i64);
                packbench_server::demo::sample_order(i, created, &mut rng)
            })
            .collect();
        store.import_orders(&tenant.id, &orders, now).await.unwrap();
    }
    let mut hub = Hub::start(&db, &[]).await;
    // Order id → the highest version the hub answered for it.
    let acked: Arc<Mutex<BTreeMap<String, i64>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (http, token, api) = (
            hub.http.clone(),
            hub.token.clone(),
            format!("{}/api/acme", hub.base),
        );
        let acked = acked.clone();
        workers.push(tokio::spawn(async move {
            // The answer's `data`, or `None` once the hub is gone.
            let post = |path: String, body: Value| {
                let (http, token) = (http.clone(), token.clone());
                async move {
                    let r = http
                        .post(path)
                        .bearer_auth(token)
                        .json(&body)
                        .send()
                        .await
                        .ok()?;
                    let ok = r.status().is_success();
                    let v: Value = r.json().await.ok()?;
                    assert!(ok, "refused before the crash: {v}");
                    Some(v["data"].clone())
                }
            };
            let record = |order: &Value| {
                let id = order["id"].as_str().unwrap().to_owned();
                let version = order["version"].as_i64().unwrap();
                let mut acked = acked.lock().unwrap();
                let seen = acked.entry(id).or_insert(version);
                *seen = (*seen).max(version);
            };
            loop {
                let Some(order) = post(format!("{api}/orders/claim"), json!({})).await else {
                    return;
                };
                record(&order);
                let id = order["id"].as_str().unwrap().to_owned();
                let ops = order["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| json!({"action": "pick", "items": [{"sku": l["sku"], "quantity": l["quantity"]}]}))
                    .chain([json!({"action": "pack", "package": {"weight": 1.5,
                        "dimensions": {"length": 10, "width": 8, "height": 4}}})]);
                for op in ops {
                    let Some(done) = post(format!("{api}/orders/{id}/operations"), op).await
                    else {
                        return;
                    };
                    record(&done["order"]);
                }
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().len() < 60 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hub.process.start_kill().unwrap();
    hub.process.wait().await.unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 60,
        "worked on {} orders before the kill",
        acked.len()
    );

    let hub = Hub::start(&db, &[]).await;
    for (id, version) in &acked {
        let detail = hub
            .ok(reqwest::Method::GET, &format!("/orders/{id}"), None)
            .await;
        let now = detail["data"]["version"].as_i64().unwrap();
        assert!(
            now >= *version,
            "{id}: answered version {version}, {now} after the crash"
        );
        let events = detail["data"]["events"].as_array().unwrap();
        assert_eq!(
            events.len() as i64,
            now,
            "{id}: one event per version: {events:?}"
        );
        let claims = events.iter().filter(|e| e["kind"] == "assigned").count();
        assert_eq!(claims, 1, "{id} was handed out once: {events:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_operations_survive_a_crash() {
    acknowledged_operations_survive_a_crash(packbench_store::testing::sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_operations_survive_a_crash() {
    let Some(db) = packbench_store::testing::postgres_url().await else {
        return;
    };
    acknowledged_operations_survive_a_crash(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_crash_mid_import_loses_and_doubles_nothing() {
    a_crash_mid_import_loses_and_doubles_nothing(
        packbench_store::testing::sqlite_url(),
        packbench_store::testing::sqlite_url(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_crash_mid_import_loses_and_doubles_nothing() {
    let Some(crashed) = packbench_store::testing::postgres_url().await else {
        return;
    };
    let clean = packbench_store::testing::postgres_url().await.unwrap();
    a_crash_mid_import_loses_and_doubles_nothing(crashed, clean).await;
}

//! One label per package across processes, with the real `packbench` binary, the real UPS
//! client and the UPS sim on loopback (its list of sold labels is the truth): a hub killed
//! (SIGKILL) at each step between reserving an order and shipping it, then started again and
//! asked once more; and two hub processes on one database shipping one order at once. Run on
//! SQLite and on PostgreSQL. The hub stops at a step through a fault point
//! (`FAILPOINTS=label::STEP=return(hold)`, compiled into the binary the tests build).

#[allow(dead_code, reason = "each test binary uses part of it")]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Hub, new_bench};
use packbench_sim::{ShopifySim, ShopifySimConfig, UpsSim, UpsSimConfig};
use reqwest::Method;
use serde_json::{Value, json};

/// Label purchases out of sight are settled after a second.
const QUICK: [(&str, &str); 2] = [
    ("PACKBENCH_LABEL_LEASE_SECS", "1"),
    ("PACKBENCH_LABEL_LOOKUP_LAG_SECS", "1"),
];

async fn start(db: &str, failpoints: Option<String>) -> Hub {
    let mut env = QUICK.to_vec();
    if let Some(f) = &failpoints {
        env.push(("FAILPOINTS", f));
    }
    Hub::start(db, &env).await
}

/// Sends a ship in the background (it may never be answered).
fn ship(hub: &Hub, id: &str, key: &str) -> tokio::task::JoinHandle<reqwest::Result<(u16, Value)>> {
    let req = hub
        .http
        .post(format!("{}/api/acme/orders/{id}/operations", hub.base))
        .bearer_auth(&hub.token)
        .header("Idempotency-Key", key)
        .json(&json!({"action": "ship", "service": "ground"}))
        .timeout(Duration::from_secs(60));
    tokio::spawn(async move {
        let r = req.send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    })
}

/// Labels the UPS sim sold and did not void for an order (by the name printed on them).
fn live_labels(sim: &UpsSim, name: &str) -> usize {
    sim.shipments()
        .iter()
        .filter(|s| !s.voided && s.references.iter().any(|r| r == name))
        .count()
}

/// A bench on `db` with `orders` orders imported from the Shopify sim, every one packed, and
/// UPS set up on the sim: the UPS sim and the packed orders (id, name).
async fn packed_bench(db: &str, orders: usize) -> (Arc<UpsSim>, Vec<(String, String)>) {
    new_bench(db);
    let cfg = ShopifySimConfig {
        orders,
        ..ShopifySimConfig::default()
    };
    let shop = ShopifySim::new(cfg.clone());
    let shop_addr = packbench_sim::serve_loopback(shop.router()).await.unwrap();
    let ups = UpsSim::new(UpsSimConfig::default()).unwrap();
    let ups_addr = packbench_sim::serve_loopback(ups.router()).await.unwrap();
    let u = ups.config();
    let hub = start(db, None).await;
    hub.ok(
        Method::PATCH,
        "/settings",
        Some(json!({
            "shopify": {"shop_domain": "acme.myshopify.com", "access_token": cfg.access_token,
                        "api_base_url": format!("http://{shop_addr}/admin/api/{}", packbench_shopify::API_VERSION),
                        "location_ids": [cfg.locations[0]]},
            "ups": {"client_id": u.client_id, "client_secret": u.client_secret,
                    "account_number": u.account_number, "base_url": format!("http://{ups_addr}")},
            "shipper": {"name": "Acme Shipping", "phone": "212-555-0100",
                        "address": {"lines": ["450 W 33rd St"], "city": "New York", "state": "NY",
                                    "postal_code": "10001", "country": "US"}},
        })),
    )
    .await;
    hub.ok(Method::POST, "/sync", Some(json!({}))).await;
    let mut packed = Vec::new();
    while let (200, order) = hub
        .call(Method::POST, "/orders/claim", Some(json!({})))
        .await
    {
        let id = order["data"]["id"].as_str().unwrap().to_owned();
        let name = order["data"]["name"].as_str().unwrap().to_owned();
        let items = common::all_items(&order);
        let path = format!("/orders/{id}/operations");
        hub.ok(
            Method::POST,
            &path,
            Some(json!({"action": "pick", "items": items})),
        )
        .await;
        hub.ok(
            Method::POST,
            &path,
            Some(json!({"action": "pack", "package": {"weight": 1.5,
                "dimensions": {"length": 10, "width": 8, "height": 4}}})),
        )
        .await;
        packed.push((id, name));
    }
    hub.kill().await;
    (ups, packed)
}

/// Waits until `seen` holds, for at most 20 s.
async fn until<F, Fut>(what: &str, mut seen: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen().await {
        assert!(Instant::now() < deadline, "never saw {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn killed_at_each_step_then_restarted(db: String) {
    let (ups, packed) = packed_bench(&db, 8).await;
    assert!(packed.len() >= 4, "{packed:?}");
    for (step, (id, name)) in ["reserved", "bought", "label-kept", "recorded"]
        .into_iter()
        .zip(&packed)
    {
        let hub = start(&db, Some(format!("label::{step}=return(hold)"))).await;
        let shipping = ship(&hub, id, &format!("killed-{step}"));
        let shipments = format!("/shipments?order_id={id}");
        match step {
            // Held after the reservation: a pending shipment, nothing sold.
            "reserved" => {
                until("the reservation", || async {
                    let (_, s) = hub.call(Method::GET, &shipments, None).await;
                    s["data"][0]["status"] == "pending"
                })
                .await
            }
            // Held once UPS sold the label, before or after the label is kept.
            "bought" | "label-kept" => {
                until("the sale", || async { live_labels(&ups, name) == 1 }).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            // Held once the label is recorded, before the order ships.
            _ => {
                until("the recorded label", || async {
                    let (_, s) = hub.call(Method::GET, &shipments, None).await;
                    s["data"][0]["status"] == "created"
                })
                .await
            }
        }
        let sold_at_kill = live_labels(&ups, name);
        hub.kill().await;
        assert!(
            shipping.await.unwrap().is_err(),
            "{step}: cut before it answered"
        );

        // Started again: past the lease, the next ship settles what the killed hub left.
        let hub = start(&db, None).await;
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let (status, body) = ship(&hub, id, &format!("again-{step}"))
            .await
            .unwrap()
            .unwrap();
        // The hub's own settling (at start, with the tracking poller) may have come first.
        let shipment = match status {
            200 => body["data"]["shipment"]["id"].clone(),
            _ => {
                assert_eq!(
                    body["error"]["code"], "invalid_transition",
                    "{step}: {body}"
                );
                let (_, o) = hub.call(Method::GET, &format!("/orders/{id}"), None).await;
                o["data"]["shipment_id"].clone()
            }
        };
        let shipment = format!("/shipments/{}", shipment.as_str().unwrap());
        let (_, shipment) = hub.call(Method::GET, &shipment, None).await;
        assert_eq!(live_labels(&ups, name), 1, "{step}: one label at UPS");
        if sold_at_kill == 1 {
            let tracking = &ups
                .shipments()
                .into_iter()
                .find(|s| s.references.iter().any(|r| r == name))
                .unwrap()
                .tracking_number;
            assert_eq!(
                shipment["data"]["tracking_number"],
                tracking.as_str(),
                "{step}: the label sold before the kill is the one used"
            );
        }
        let (_, order) = hub.call(Method::GET, &format!("/orders/{id}"), None).await;
        assert_eq!(order["data"]["status"], "shipped", "{step}");
        hub.kill().await;
    }
}

async fn two_hub_processes_ship_one_order_once(db: String) {
    let (ups, packed) = packed_bench(&db, 2).await;
    ups.configure(|c| c.latency_ms = 300);
    let (id, name) = &packed[0];
    let a = start(&db, None).await;
    let b = start(&db, None).await;
    let asks: Vec<_> = (0..8)
        .map(|i| {
            let hub = if i % 2 == 0 { &a } else { &b };
            ship(hub, id, &format!("two-hubs-{i}"))
        })
        .collect();
    let mut answers = Vec::new();
    for ask in asks {
        answers.push(ask.await.unwrap().unwrap());
    }
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{answers:?}"
    );
    for (s, body) in answers.iter().filter(|(s, _)| *s != 200) {
        let code = body["error"]["code"].as_str().unwrap_or("");
        assert!(
            *s == 409 && (code == "label_in_progress" || code == "invalid_transition"),
            "{s} {body}"
        );
    }
    assert_eq!(live_labels(&ups, name), 1, "one label at UPS");
    a.kill().await;
    b.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_at_each_step_then_restarted() {
    killed_at_each_step_then_restarted(packbench_store::testing::sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_at_each_step_then_restarted() {
    if let Some(db) = packbench_store::testing::postgres_url().await {
        killed_at_each_step_then_restarted(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_hub_processes_ship_one_order_once() {
    two_hub_processes_ship_one_order_once(packbench_store::testing::sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_hub_processes_ship_one_order_once() {
    if let Some(db) = packbench_store::testing::postgres_url().await {
        two_hub_processes_ship_one_order_once(db).await;
    }
}

//! One label per package across processes, with the real `packbench` binary, the real UPS
//! client and the UPS sim on loopback (its list of sold labels is the truth): a hub killed
//! (SIGKILL) at each step between reserving an order and shipping it, then started again and
//! asked once more; and two hub processes on one database shipping one order at once. Run on
//! SQLite and on PostgreSQL. The hub stops at a step through a fault point
//! (`FAILPOINTS=label::STEP=return(hold)`, compiled into the binary the tests build).

use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use packbench_sim::{ShopifySim, ShopifySimConfig, UpsSim, UpsSimConfig};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_packbench");
const PASSWORD: &str = "a long password";

fn admin_command(db: &str, args: &[&str], stdin: &str) {
    let mut child = std::process::Command::new(BIN)
        .arg("--database")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Hub {
    process: tokio::process::Child,
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Hub {
    /// A hub on `db`; label purchases out of sight are settled after a second.
    async fn start(db: &str, failpoints: Option<String>) -> Hub {
        let mut command = tokio::process::Command::new(BIN);
        command
            .args(["--database", db, "serve", "--bind", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env("PACKBENCH_LABEL_LEASE_SECS", "1")
            .env("PACKBENCH_LABEL_LOOKUP_LAG_SECS", "1")
            .env_remove("FAILPOINTS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some(f) = failpoints {
            command.env("FAILPOINTS", f);
        }
        let mut process = command.spawn().unwrap();
        let mut out = BufReader::new(process.stdout.take().unwrap()).lines();
        let base = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
                .await
                .expect("the hub starts")
                .unwrap()
                .expect("the hub prints its address");
            if let Some(u) = line.strip_prefix("Packbench hub on ") {
                break u.to_owned();
            }
        };
        let http = reqwest::Client::new();
        let login: Value = http
            .post(format!("{base}/api/acme/auth/login"))
            .json(&json!({"username": "ann", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["data"]["token"].as_str().expect("login").to_owned();
        Hub {
            process,
            base,
            token,
            http,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/acme{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(60));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {v}");
        v
    }

    /// Sends a ship in the background (it may never be answered).
    fn ship(&self, id: &str, key: &str) -> tokio::task::JoinHandle<reqwest::Result<(u16, Value)>> {
        let req = self
            .http
            .post(format!("{}/api/acme/orders/{id}/operations", self.base))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .json(&json!({"action": "ship", "service": "ground"}))
            .timeout(Duration::from_secs(60));
        tokio::spawn(async move {
            let r = req.send().await?;
            let status = r.status().as_u16();
            Ok((status, r.json().await.unwrap_or(Value::Null)))
        })
    }

    async fn kill(mut self) {
        self.process.start_kill().unwrap();
        self.process.wait().await.unwrap();
    }
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
    admin_command(db, &["tenant", "add", "acme"], "");
    admin_command(
        db,
        &[
            "user",
            "add",
            "--tenant",
            "acme",
            "--username",
            "ann",
            "--role",
            "admin",
        ],
        &format!("{PASSWORD}\n"),
    );
    let cfg = ShopifySimConfig {
        orders,
        ..ShopifySimConfig::default()
    };
    let shop = ShopifySim::new(cfg.clone());
    let shop_addr = packbench_sim::serve_loopback(shop.router()).await.unwrap();
    let ups = UpsSim::new(UpsSimConfig::default()).unwrap();
    let ups_addr = packbench_sim::serve_loopback(ups.router()).await.unwrap();
    let u = ups.config();
    let hub = Hub::start(db, None).await;
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
        let items: Vec<Value> = order["data"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| json!({"sku": l["sku"], "quantity": l["quantity"]}))
            .collect();
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
        let hub = Hub::start(&db, Some(format!("label::{step}=return(hold)"))).await;
        let shipping = hub.ship(id, &format!("killed-{step}"));
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
        let hub = Hub::start(&db, None).await;
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let (status, body) = hub
            .ship(id, &format!("again-{step}"))
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
    let a = Hub::start(&db, None).await;
    let b = Hub::start(&db, None).await;
    let asks: Vec<_> = (0..8)
        .map(|i| {
            let hub = if i % 2 == 0 { &a } else { &b };
            hub.ship(id, &format!("two-hubs-{i}"))
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

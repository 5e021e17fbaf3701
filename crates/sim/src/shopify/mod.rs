//! A Shopify store on loopback: `POST /admin/api/2026-10/graphql.json` with the access token,
//! answering queries by the pinned schema (`schema`): each is checked and costed by Shopify's
//! published rules (`cost`), refused over 1,000 points (`MAX_COST_EXCEEDED`) or when the
//! leaky bucket is short (`THROTTLED`), and answered from whole objects cut to what it selected
//! (`exec`), charged at the actual cost. Mutations: `fulfillmentCreate` and
//! `bulkOperationRunQuery` (`bulk`, files at `GET /bulk-results/{id}.jsonl`). Orders are
//! generated from a catalogue: several lines, several locations (an order split across two
//! fulfillment orders), holds and cancellations; `add_order` adds big ones.

mod bulk;
mod cost;
mod exec;
mod graphql;
mod schema;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

use graphql::{bulk_result, gid, json_answer};

pub const API_VERSION: &str = "2026-10";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Product {
    pub sku: String,
    pub title: String,
    pub barcode: String,
    /// The variant's weight in pounds; 0 (Shopify's answer for a variant nobody weighed)
    /// when not given.
    #[serde(default)]
    pub weight_lb: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ShopifySimConfig {
    pub access_token: String,
    pub orders: usize,
    pub seed: u64,
    /// Location GIDs; orders are routed to the first, some split onto the second.
    pub locations: Vec<String>,
    pub products: Vec<Product>,
    /// `None`: no throttling. Shopify Standard is 2,000 points, 100 points/s.
    pub bucket: Option<f64>,
    /// Where to send signed webhooks when an order changes (a hub's webhook URL), and the
    /// app secret to sign them with.
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
    /// The shop's `.myshopify.com` domain, which its webhooks name.
    pub shop_domain: String,
    /// A Dev Dashboard app's credentials: `POST /admin/oauth/access_token` (client credentials
    /// grant) issues tokens that expire after `token_ttl_secs`.
    pub client_id: String,
    pub client_secret: String,
    pub token_ttl_secs: u64,
    pub restore_rate: f64,
    /// How long each GraphQL answer takes (Shopify's own take 100-300 ms); 0 for benchmarks.
    pub latency_ms: u64,
    /// The least time a bulk export runs before it is `COMPLETED`.
    pub bulk_ms: u64,
}

impl Default for ShopifySimConfig {
    fn default() -> Self {
        Self {
            access_token: "shpat_sim".into(),
            orders: 25,
            seed: 7,
            locations: vec![
                "gid://shopify/Location/1001".into(),
                "gid://shopify/Location/1002".into(),
            ],
            products: (1..=6)
                .map(|i| Product {
                    sku: format!("SIM-{i:03}"),
                    title: format!("Sim product {i}"),
                    barcode: format!("00000000{i:04}"),
                    weight_lb: 0.0,
                })
                .collect(),
            bucket: None,
            restore_rate: 100.0,
            webhook_url: None,
            webhook_secret: "shpss_sim".into(),
            shop_domain: "acme.myshopify.com".into(),
            client_id: "sim-client-id".into(),
            client_secret: "sim-client-secret".into(),
            token_ttl_secs: 86_399,
            latency_ms: 0,
            bulk_ms: 300,
        }
    }
}

#[derive(Debug, Clone)]
struct SimLine {
    id: u64,
    product: usize,
    quantity: u32,
}

#[derive(Debug, Clone)]
struct SimFo {
    id: u64,
    location: usize,
    status: &'static str,
    lines: Vec<SimLine>,
}

#[derive(Debug, Clone)]
struct SimOrder {
    id: u64,
    name: String,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    cancelled: Option<DateTime<Utc>>,
    customer: String,
    city: (&'static str, &'static str, &'static str),
    fos: Vec<SimFo>,
}

struct Bucket {
    available: f64,
    at: Instant,
}

/// A fulfillment the bench reported.
#[derive(Debug, Clone, Serialize)]
pub struct SimFulfillment {
    pub id: String,
    pub fulfillment_order_id: String,
    pub company: String,
    /// Every tracking number sent (one per box).
    pub numbers: Vec<String>,
    pub urls: Vec<String>,
    pub notify_customer: bool,
}

pub struct ShopifySim {
    config: Mutex<ShopifySimConfig>,
    /// Tokens issued by the client credentials grant, with their expiry.
    issued: Mutex<std::collections::HashMap<String, Instant>>,
    token_calls: std::sync::atomic::AtomicU64,
    fulfillments: Mutex<Vec<SimFulfillment>>,
    orders: Mutex<Vec<SimOrder>>,
    bucket: Mutex<Bucket>,
    throttled: std::sync::atomic::AtomicU64,
    queries: std::sync::atomic::AtomicU64,
    /// (current run of THROTTLED answers, longest run, points spent).
    runs: Mutex<(u64, u64, f64)>,
    exports: Mutex<Vec<bulk::Export>>,
}

const NAMES: [&str; 8] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
    "Margaret Hamilton",
];
const CITIES: [(&str, &str, &str); 4] = [
    ("New York", "NY", "10001"),
    ("Austin", "TX", "73301"),
    ("Denver", "CO", "80202"),
    ("Seattle", "WA", "98101"),
];

fn generate(cfg: &ShopifySimConfig) -> Vec<SimOrder> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    // Ten seconds apart, the newest two hours old: all in the past, however many there are.
    let start = Utc::now() - Duration::hours(2) - Duration::seconds(cfg.orders as i64 * 10);
    let mut next_id = 5_000_000_000u64;
    let mut id = || {
        next_id += 1;
        next_id
    };
    (0..cfg.orders)
        .map(|i| {
            let n_lines = rng.random_range(1..=4usize).min(cfg.products.len().max(1));
            let mut picks: Vec<usize> = (0..cfg.products.len()).collect();
            let lines: Vec<SimLine> = (0..n_lines)
                .map(|_| SimLine {
                    id: id(),
                    product: picks.remove(rng.random_range(0..picks.len())),
                    quantity: rng.random_range(1..=3),
                })
                .collect();
            // Every 7th order is split over two locations; every 11th is on hold.
            let split = i % 7 == 3 && lines.len() > 1 && cfg.locations.len() > 1;
            let fos = if split {
                let (a, b) = lines.split_at(lines.len() / 2);
                vec![
                    SimFo {
                        id: id(),
                        location: 0,
                        status: "OPEN",
                        lines: a.to_vec(),
                    },
                    SimFo {
                        id: id(),
                        location: 1,
                        status: "OPEN",
                        lines: b.to_vec(),
                    },
                ]
            } else {
                let status = if i % 11 == 5 { "ON_HOLD" } else { "OPEN" };
                vec![SimFo {
                    id: id(),
                    location: 0,
                    status,
                    lines,
                }]
            };
            let created = start + Duration::seconds(i as i64 * 10);
            SimOrder {
                id: id(),
                name: format!("#{}", 1001 + i),
                created,
                updated: created + Duration::seconds(5),
                cancelled: (i % 13 == 9).then_some(created + Duration::seconds(5)),
                customer: NAMES[i % NAMES.len()].into(),
                city: CITIES[i % CITIES.len()],
                fos,
            }
        })
        .collect()
}

impl ShopifySim {
    pub fn new(config: ShopifySimConfig) -> Arc<Self> {
        let mut orders = generate(&config);
        // Kept in the order pages are served in, so a page is a slice, not a sort.
        orders.sort_by_key(|o| (o.updated, o.id));
        let available = config.bucket.unwrap_or(0.0);
        Arc::new(Self {
            config: Mutex::new(config),
            issued: Mutex::new(std::collections::HashMap::new()),
            token_calls: 0.into(),
            fulfillments: Mutex::new(Vec::new()),
            orders: Mutex::new(orders),
            bucket: Mutex::new(Bucket {
                available,
                at: Instant::now(),
            }),
            throttled: 0.into(),
            queries: 0.into(),
            runs: Mutex::new((0, 0, 0.0)),
            exports: Mutex::new(Vec::new()),
        })
    }

    pub fn config(&self) -> ShopifySimConfig {
        self.config.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Fulfillments created so far.
    pub fn fulfillments(&self) -> Vec<SimFulfillment> {
        self.fulfillments
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    /// `THROTTLED` answers given so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The most `THROTTLED` answers given one after another.
    pub fn longest_throttled_run(&self) -> u64 {
        self.runs.lock().map(|r| r.1).unwrap_or(0)
    }

    /// Query cost points actually spent so far.
    pub fn points_spent(&self) -> f64 {
        self.runs.lock().map(|r| r.2).unwrap_or(0.0)
    }

    fn note(&self, throttled: bool, spent: f64) {
        if let Ok(mut r) = self.runs.lock() {
            if throttled {
                r.0 += 1;
                r.1 = r.1.max(r.0);
            } else {
                r.0 = 0;
            }
            r.2 += spent;
        }
    }

    pub fn queries(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Edits an order as a merchant would (its `updatedAt` moves on).
    pub fn cancel_order(&self, name: &str) {
        if let Ok(mut orders) = self.orders.lock()
            && let Some(o) = orders.iter_mut().find(|o| o.name == name)
        {
            o.cancelled = Some(Utc::now());
            o.updated = Utc::now();
        }
        if let Ok(mut orders) = self.orders.lock() {
            orders.sort_by_key(|o| (o.updated, o.id));
        }
    }

    /// Sends a signed webhook about an order to the configured hub, as Shopify does (REST-shaped
    /// body, `X-Shopify-*` headers). Answers the HTTP status, or `None` when no hub is set.
    pub async fn notify(&self, topic: &str, name: &str) -> Option<u16> {
        use base64::Engine;
        use hmac::Mac;
        let cfg = self.config();
        let url = cfg.webhook_url.clone()?;
        let order = self
            .orders
            .lock()
            .ok()?
            .iter()
            .find(|o| o.name == name)
            .cloned()?;
        let body = serde_json::to_vec(&json!({
            "id": order.id,
            "admin_graphql_api_id": gid("Order", order.id),
            "name": order.name,
            "updated_at": order.updated.to_rfc3339(),
            "cancelled_at": order.cancelled.map(|c| c.to_rfc3339()),
        }))
        .ok()?;
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(cfg.webhook_secret.as_bytes()).ok()?;
        mac.update(&body);
        let signature =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let id = format!("sim-{:032x}", rand::random::<u128>());
        let r = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("x-shopify-topic", topic)
            .header("x-shopify-hmac-sha256", signature)
            .header("x-shopify-webhook-id", id)
            .header("x-shopify-api-version", API_VERSION)
            .header("x-shopify-shop-domain", cfg.shop_domain.as_str())
            .body(body)
            .send()
            .await
            .ok()?;
        Some(r.status().as_u16())
    }

    /// Adds an order of `lines` lines (the catalogue over and over) split over
    /// `fulfillment_orders` fulfillment orders at the first location, as a big B2B order
    /// would come. Answers its name.
    pub fn add_order(&self, lines: usize, fulfillment_orders: usize) -> String {
        let Ok(mut orders) = self.orders.lock() else {
            return String::new();
        };
        let mut next = orders
            .iter()
            .flat_map(|o| {
                std::iter::once(o.id).chain(
                    o.fos
                        .iter()
                        .flat_map(|f| std::iter::once(f.id).chain(f.lines.iter().map(|l| l.id))),
                )
            })
            .max()
            .unwrap_or(5_000_000_000)
            + 1;
        let mut id = || {
            next += 1;
            next
        };
        let n = orders.len();
        let parts = fulfillment_orders.max(1);
        let fos = (0..parts)
            .map(|p| SimFo {
                id: id(),
                location: 0,
                status: "OPEN",
                lines: (0..lines)
                    .filter(|i| i % parts == p)
                    .map(|i| SimLine {
                        id: id(),
                        product: i,
                        quantity: 1,
                    })
                    .collect(),
            })
            .collect();
        let now = Utc::now();
        let name = format!("#{}", 1001 + n);
        orders.push(SimOrder {
            id: id(),
            name: name.clone(),
            created: now,
            updated: now,
            cancelled: None,
            customer: NAMES[n % NAMES.len()].into(),
            city: CITIES[n % CITIES.len()],
            fos,
        });
        orders.sort_by_key(|o| (o.updated, o.id));
        name
    }

    /// The shop's numeric id of an order, by name (as privacy webhooks name orders).
    pub fn order_id(&self, name: &str) -> Option<u64> {
        let orders = self.orders.lock().ok()?;
        orders.iter().find(|o| o.name == name).map(|o| o.id)
    }

    /// Edits an order as a merchant would: one more of its first item.
    pub fn edit_order(&self, name: &str) {
        if let Ok(mut orders) = self.orders.lock() {
            for o in orders.iter_mut().filter(|o| o.name == name) {
                if let Some(line) = o.fos.first_mut().and_then(|fo| fo.lines.first_mut()) {
                    line.quantity += 1;
                }
                o.updated = Utc::now();
            }
            orders.sort_by_key(|o| (o.updated, o.id));
        }
    }

    /// Releases the holds on an order's fulfillment orders (its `updatedAt` moves on).
    pub fn release_hold(&self, name: &str) {
        if let Ok(mut orders) = self.orders.lock() {
            for o in orders.iter_mut().filter(|o| o.name == name) {
                for fo in o.fos.iter_mut().filter(|fo| fo.status == "ON_HOLD") {
                    fo.status = "OPEN";
                }
                o.updated = Utc::now();
            }
            orders.sort_by_key(|o| (o.updated, o.id));
        }
    }

    /// Tokens issued so far by the client credentials grant.
    pub fn token_calls(&self) -> u64 {
        self.token_calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Revokes every issued token, as if they had all expired.
    pub fn expire_tokens(&self) {
        if let Ok(mut t) = self.issued.lock() {
            t.clear();
        }
    }

    fn token_ok(&self, token: &str, cfg: &ShopifySimConfig) -> bool {
        token == cfg.access_token
            || self
                .issued
                .lock()
                .map(|t| t.get(token).is_some_and(|exp| Instant::now() < *exp))
                .unwrap_or(false)
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/admin/oauth/access_token", post(access_token))
            .route(
                &format!("/admin/api/{API_VERSION}/graphql.json"),
                post(graphql::graphql),
            )
            .route("/bulk-results/{name}", axum::routing::get(bulk_result))
            .with_state(self.clone())
    }

    /// Points in the bucket now.
    pub fn bucket_available(&self) -> f64 {
        let cfg = self.config();
        let Some(max) = cfg.bucket else {
            return 2000.0;
        };
        self.bucket.lock().map_or(max, |b| {
            (b.available + b.at.elapsed().as_secs_f64() * cfg.restore_rate).min(max)
        })
    }

    /// Gives back what a query reserved but did not use; answers what is available after.
    fn refund(&self, points: f64) -> f64 {
        let cfg = self.config();
        let Some(max) = cfg.bucket else {
            return 2000.0;
        };
        let Ok(mut b) = self.bucket.lock() else {
            return max;
        };
        b.available = (b.available + points).min(max);
        b.available
    }

    /// Takes `cost` from the bucket, or answers what is available when it cannot.
    fn spend(&self, cost: f64) -> Result<f64, f64> {
        let cfg = self.config();
        let Some(max) = cfg.bucket else {
            return Ok(f64::MAX);
        };
        let Ok(mut b) = self.bucket.lock() else {
            return Ok(max);
        };
        let refill = b.at.elapsed().as_secs_f64() * cfg.restore_rate;
        b.available = (b.available + refill).min(max);
        b.at = Instant::now();
        if b.available < cost {
            return Err(b.available);
        }
        b.available -= cost;
        Ok(b.available)
    }
}

/// The client credentials grant: form `grant_type=client_credentials&client_id&client_secret`.
async fn access_token(State(sim): State<Arc<ShopifySim>>, body: String) -> Response {
    let cfg = sim.config();
    let form: std::collections::HashMap<String, String> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("client_id") == Some(&cfg.client_id)
        && form.get("client_secret") == Some(&cfg.client_secret);
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client", "error_description": "Client authentication failed"})),
        )
            .into_response();
    }
    sim.token_calls
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let token = format!("shpat_sim_{:032x}", rand::random::<u128>());
    if let Ok(mut t) = sim.issued.lock() {
        t.insert(
            token.clone(),
            Instant::now() + std::time::Duration::from_secs(cfg.token_ttl_secs),
        );
    }
    json_answer(json!({"access_token": token,
        "scope": "read_orders,write_merchant_managed_fulfillment_orders",
        "expires_in": cfg.token_ttl_secs}))
}

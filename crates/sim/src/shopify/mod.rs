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
mod schema;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Duration, Utc};
use graphql_parser::query::{Definition, OperationDefinition};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const API_VERSION: &str = "2026-10";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Product {
    pub sku: String,
    pub title: String,
    pub barcode: String,
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
                })
                .collect(),
            bucket: None,
            restore_rate: 100.0,
            webhook_url: None,
            webhook_secret: "shpss_sim".into(),
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
    pub number: String,
    pub url: String,
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
            .header("x-shopify-shop-domain", "sim.myshopify.com")
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
                post(graphql),
            )
            .route("/bulk-results/{name}", axum::routing::get(bulk_result))
            .with_state(self.clone())
    }

    /// Points in the bucket now.
    fn available(&self) -> f64 {
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

fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// An order whole, as the sim can answer it (connections as plain lists).
fn order_whole(o: &SimOrder, cfg: &ShopifySimConfig) -> Value {
    let (first, last) = o.customer.split_once(' ').unwrap_or((&o.customer, ""));
    json!({
        "id": gid("Order", o.id),
        "name": o.name,
        "createdAt": o.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "updatedAt": o.updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "cancelledAt": o.cancelled.map(|c| c.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "customer": {"id": gid("Customer", o.id + 1), "displayName": o.customer},
        "shippingAddress": {
            "name": format!("{first} {last}").trim(), "company": null,
            "address1": format!("{} Main Street", 10 + o.id % 90), "address2": null,
            "city": o.city.0, "provinceCode": o.city.1, "zip": o.city.2,
            "countryCodeV2": "US", "phone": "+12125550100",
        },
        "fulfillmentOrders": o.fos.iter().map(|fo| fo_whole(o, fo, cfg)).collect::<Vec<_>>(),
    })
}

fn fo_whole(o: &SimOrder, fo: &SimFo, cfg: &ShopifySimConfig) -> Value {
    let status = if o.cancelled.is_some() {
        "CANCELLED"
    } else {
        fo.status
    };
    json!({
        "id": gid("FulfillmentOrder", fo.id),
        "status": status,
        "assignedLocation": {"location": {"id": cfg.locations.get(fo.location)}},
        "lineItems": fo.lines.iter().map(|l| {
            let p = &cfg.products[l.product % cfg.products.len().max(1)];
            json!({
                "id": gid("FulfillmentOrderLineItem", l.id),
                "remainingQuantity": if status == "CLOSED" { 0 } else { l.quantity },
                "totalQuantity": l.quantity,
                "sku": p.sku,
                "productTitle": p.title,
                "variant": {"barcode": p.barcode},
                "lineItem": {"sku": p.sku, "title": p.title, "variant": {"barcode": p.barcode}},
            })
        }).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
struct Request {
    query: String,
    #[serde(default)]
    variables: Value,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

fn since_of(query: Option<&str>) -> Option<DateTime<Utc>> {
    let q = query?;
    let start = q.find("updated_at:>=")? + "updated_at:>=".len();
    let raw = q[start..].trim_matches(|c| c == '\'' || c == '"');
    let raw = raw.split(['\'', '"', ' ']).next()?;
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn refused(message: &str, code: &str) -> Response {
    json_answer(json!({"errors": [{"message": message, "extensions": {"code": code}}]}))
}

async fn graphql(
    State(sim): State<Arc<ShopifySim>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let cfg = sim.config();
    if cfg.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(cfg.latency_ms)).await;
    }
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !sim.token_ok(token, &cfg) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})),
        )
            .into_response();
    }
    let Ok(req) = serde_json::from_slice::<Request>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"errors": "Invalid JSON"})),
        )
            .into_response();
    };
    let base = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_default();
    let doc = match graphql_parser::parse_query::<String>(&req.query).map(|d| d.into_static()) {
        Ok(d) => d,
        Err(e) => return refused(&e.to_string(), "parseError"),
    };
    let fragments: cost::Fragments<'_> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => Some((f.name.as_str(), f)),
            _ => None,
        })
        .collect();
    let operation = doc.definitions.iter().find_map(|d| match d {
        Definition::Operation(op) => {
            let name = match op {
                OperationDefinition::Query(q) => q.name.as_deref(),
                OperationDefinition::Mutation(m) => m.name.as_deref(),
                _ => None,
            };
            (req.operation_name.is_none() || req.operation_name.as_deref() == name).then_some(op)
        }
        _ => None,
    });
    let (mutation, set) = match operation {
        Some(OperationDefinition::Query(q)) => (false, &q.selection_set),
        Some(OperationDefinition::SelectionSet(s)) => (false, s),
        Some(OperationDefinition::Mutation(m)) => (true, &m.selection_set),
        _ => return refused("No operation named in the document", "operationNotFound"),
    };
    let schema = schema::Schema::admin();
    let coster = cost::Coster {
        schema,
        variables: &req.variables,
        fragments: &fragments,
    };
    let root = if mutation {
        &schema.mutation
    } else {
        &schema.query
    };
    let requested = match coster.requested(root, set) {
        // Checked like a query; costed flat, as Shopify does.
        Ok(_) if mutation => cost::fields(set, &fragments).len() as u64 * cost::MUTATION_COST,
        Ok(c) => c,
        Err(r) => return refused(&r.message, r.code),
    };
    let max = cfg.bucket.unwrap_or(2000.0);
    if requested > cost::MAX_QUERY_COST {
        // Refused before anything runs; the bucket is not touched.
        return json_answer(json!({
            "errors": [{
                "message": format!("Query cost is {requested}, which exceeds the single query max cost limit ({}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n", cost::MAX_QUERY_COST),
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": cost::MAX_QUERY_COST,
                    "documentation": "https://shopify.dev/api/usage/limits#rate-limits"},
            }],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": null,
                "throttleStatus": {"maximumAvailable": max, "currentlyAvailable": sim.available(), "restoreRate": cfg.restore_rate}}},
        }));
    }
    sim.queries
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if let Err(a) = sim.spend(requested as f64) {
        sim.throttled
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        sim.note(true, 0.0);
        return axum::Json(json!({
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": null,
                "throttleStatus": {"maximumAvailable": max, "currentlyAvailable": a, "restoreRate": cfg.restore_rate}}},
        }))
        .into_response();
    }
    let exec = exec::Exec {
        variables: &req.variables,
        fragments: &fragments,
    };
    let mut data = serde_json::Map::new();
    let mut errors = Vec::new();
    for f in cost::fields(set, &fragments) {
        let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
        let answer = if mutation {
            sim.mutation(&exec, f, &cfg, &base)
        } else {
            sim.root(&exec, f, &cfg)
        };
        match answer {
            Ok(v) => data.insert(key, v),
            Err(message) => {
                errors.push(json!({"message": message, "path": [key], "extensions": {"code": "UNSUPPORTED"}}));
                data.insert(key, Value::Null)
            }
        };
    }
    let data = Value::Object(data);
    let actual = if mutation {
        requested
    } else {
        coster.actual(root, set, &data).min(requested)
    };
    sim.note(false, actual as f64);
    let available = sim.refund((requested - actual) as f64);
    let mut answer = json!({
        "data": data,
        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
            "throttleStatus": {"maximumAvailable": max, "currentlyAvailable": available,
                "restoreRate": cfg.restore_rate}}},
    });
    if !errors.is_empty() {
        answer["errors"] = Value::Array(errors);
    }
    json_answer(answer)
}

fn json_answer(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn fo_id_of(gid: &str) -> Option<u64> {
    gid.strip_prefix("gid://shopify/FulfillmentOrder/")?
        .parse()
        .ok()
}

impl ShopifySim {
    /// A root field of a query, answered from the sim's orders.
    fn root(
        &self,
        exec: &exec::Exec<'_>,
        f: &graphql_parser::query::Field<'static, String>,
        cfg: &ShopifySimConfig,
    ) -> Result<Value, String> {
        let orders = self
            .orders
            .lock()
            .map_err(|_| "the sim's orders are poisoned")?;
        let id = exec.arg(f, "id");
        let id = id.as_str().unwrap_or("");
        match f.name.as_str() {
            "orders" => {
                let since = since_of(exec.arg(f, "query").as_str());
                let start = since.map_or(0, |s| orders.partition_point(|o| o.updated < s));
                let matching = &orders[start..];
                // Only the page is built: cut here, and let the page say what follows.
                let after = exec
                    .arg(f, "after")
                    .as_str()
                    .and_then(|c| c.strip_prefix("cursor-"))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0)
                    .min(matching.len());
                let first = exec.arg(f, "first").as_u64().unwrap_or(0) as usize;
                let end = (after + first).min(matching.len());
                let window: Vec<Value> = matching[after..end]
                    .iter()
                    .map(|o| order_whole(o, cfg))
                    .collect();
                Ok(exec.page(f, &window, after, Some(end < matching.len())))
            }
            "ordersCount" => {
                let since = since_of(exec.arg(f, "query").as_str());
                let n = since.map_or(orders.len(), |s| {
                    orders.len() - orders.partition_point(|o| o.updated < s)
                }) as u64;
                let limit = exec.arg(f, "limit");
                let limit = if limit.is_null() && !f.arguments.iter().any(|(a, _)| a == "limit") {
                    Some(10_000)
                } else {
                    limit.as_u64()
                };
                let (count, precision) = match limit {
                    Some(l) if n > l => (l, "AT_LEAST"),
                    _ => (n, "EXACT"),
                };
                Ok(exec.project(
                    &json!({"count": count, "precision": precision}),
                    &f.selection_set,
                ))
            }
            "order" => {
                let whole = orders
                    .iter()
                    .find(|o| gid("Order", o.id) == id)
                    .map_or(Value::Null, |o| order_whole(o, cfg));
                Ok(exec.project(&whole, &f.selection_set))
            }
            "fulfillmentOrder" => {
                let want = fo_id_of(id);
                let whole = orders
                    .iter()
                    .find_map(|o| {
                        o.fos
                            .iter()
                            .find(|fo| Some(fo.id) == want)
                            .map(|fo| fo_whole(o, fo, cfg))
                    })
                    .unwrap_or(Value::Null);
                Ok(exec.project(&whole, &f.selection_set))
            }
            "bulkOperation" => {
                drop(orders);
                let whole = self
                    .exports
                    .lock()
                    .ok()
                    .and_then(|e| e.iter().find(|x| x.gid() == id).map(bulk::Export::whole))
                    .unwrap_or(Value::Null);
                Ok(exec.project(&whole, &f.selection_set))
            }
            "__typename" => Ok(Value::String("QueryRoot".into())),
            other => Err(format!("the Shopify sim does not serve QueryRoot.{other}")),
        }
    }

    /// A mutation field.
    fn mutation(
        self: &Arc<Self>,
        exec: &exec::Exec<'_>,
        f: &graphql_parser::query::Field<'static, String>,
        cfg: &ShopifySimConfig,
        base: &str,
    ) -> Result<Value, String> {
        let payload = match f.name.as_str() {
            "fulfillmentCreate" => self.fulfillment_create(&exec.arg(f, "fulfillment")),
            "bulkOperationRunQuery" => self.bulk_run(
                exec.arg(f, "query").as_str().unwrap_or(""),
                exec.arg(f, "groupObjects").as_bool().unwrap_or(false),
                cfg,
                base,
            ),
            other => return Err(format!("the Shopify sim does not serve Mutation.{other}")),
        };
        Ok(exec.project(&payload, &f.selection_set))
    }

    fn fulfillment_create(&self, f: &Value) -> Value {
        let fo_gid = f["lineItemsByFulfillmentOrder"][0]["fulfillmentOrderId"]
            .as_str()
            .unwrap_or("");
        let refuse = |message: &str| {
            json!({"fulfillment": null,
                "userErrors": [{"field": ["fulfillment"], "message": message}]})
        };
        let Some(id) = fo_id_of(fo_gid) else {
            return refuse("Fulfillment order does not exist.");
        };
        let mut closed = false;
        if let Ok(mut orders) = self.orders.lock() {
            for o in orders.iter_mut() {
                for fo in o.fos.iter_mut().filter(|fo| fo.id == id) {
                    if fo.status == "CLOSED" {
                        closed = true;
                    } else {
                        fo.status = "CLOSED";
                        o.updated = Utc::now();
                    }
                }
            }
        }
        if closed {
            return refuse("Fulfillment order is already fulfilled.");
        }
        let n = self.fulfillments().len() as u64 + 1;
        let record = SimFulfillment {
            id: gid("Fulfillment", 7_000_000 + n),
            fulfillment_order_id: fo_gid.into(),
            company: f["trackingInfo"]["company"].as_str().unwrap_or("").into(),
            number: f["trackingInfo"]["number"].as_str().unwrap_or("").into(),
            url: f["trackingInfo"]["url"].as_str().unwrap_or("").into(),
            notify_customer: f["notifyCustomer"].as_bool().unwrap_or(false),
        };
        if let Ok(mut all) = self.fulfillments.lock() {
            all.push(record.clone());
        }
        json!({"fulfillment": {"id": record.id, "status": "SUCCESS"}, "userErrors": []})
    }

    /// Starts a bulk export: checked now, written in the background, done after `bulk_ms`.
    fn bulk_run(
        self: &Arc<Self>,
        query: &str,
        grouped: bool,
        cfg: &ShopifySimConfig,
        base: &str,
    ) -> Value {
        let refuse = |message: String, code: &str| {
            json!({"bulkOperation": null,
                "userErrors": [{"field": ["query"], "message": message, "code": code}]})
        };
        let schema = schema::Schema::admin();
        let doc = match graphql_parser::parse_query::<String>(query).map(|d| d.into_static()) {
            Ok(d) => d,
            Err(e) => return refuse(format!("Invalid bulk query: {e}"), "INVALID"),
        };
        if let Err(message) = bulk::check(schema, &doc) {
            return refuse(message, "INVALID");
        }
        let Ok(mut exports) = self.exports.lock() else {
            return refuse("the sim's exports are poisoned".into(), "INVALID");
        };
        let running = exports.iter().filter(|e| e.status == "RUNNING").count();
        if running >= bulk::MAX_RUNNING {
            return refuse(
                format!(
                    "A bulk query operation for this app and shop is already in progress ({running} running)"
                ),
                "OPERATION_IN_PROGRESS",
            );
        }
        let export = bulk::Export {
            id: 4_000_000 + exports.len() as u64 + 1,
            query: query.to_owned(),
            status: "RUNNING",
            created_at: Utc::now(),
            completed_at: None,
            object_count: 0,
            root_object_count: 0,
            file: None,
            base: base.to_owned(),
        };
        let answer = json!({"bulkOperation": export.whole(), "userErrors": []});
        let id = export.id;
        exports.push(export);
        drop(exports);
        let (sim, query, cfg) = (self.clone(), query.to_owned(), cfg.clone());
        let least = std::time::Duration::from_millis(cfg.bulk_ms);
        tokio::spawn(async move {
            let started = Instant::now();
            let written = {
                let sim = sim.clone();
                tokio::task::spawn_blocking(move || sim.bulk_write(&query, grouped, &cfg)).await
            };
            let wait = least.saturating_sub(started.elapsed());
            tokio::time::sleep(wait).await;
            if let (Ok((file, objects, roots)), Ok(mut exports)) = (written, sim.exports.lock())
                && let Some(e) = exports.iter_mut().find(|e| e.id == id)
            {
                e.status = "COMPLETED";
                e.completed_at = Some(Utc::now());
                e.object_count = objects;
                e.root_object_count = roots;
                e.file = Some(Arc::new(file));
            }
        });
        answer
    }

    fn bulk_write(
        &self,
        query: &str,
        grouped: bool,
        cfg: &ShopifySimConfig,
    ) -> (Vec<u8>, u64, u64) {
        let schema = schema::Schema::admin();
        let Ok(doc) = graphql_parser::parse_query::<String>(query).map(|d| d.into_static()) else {
            return (Vec::new(), 0, 0);
        };
        let Ok(root) = bulk::check(schema, &doc) else {
            return (Vec::new(), 0, 0);
        };
        let fragments = cost::Fragments::new();
        let vars = Value::Null;
        let exec = exec::Exec {
            variables: &vars,
            fragments: &fragments,
        };
        let since = since_of(exec.arg(root, "query").as_str());
        let roots: Vec<Value> = match self.orders.lock() {
            Ok(orders) => {
                let start = since.map_or(0, |s| orders.partition_point(|o| o.updated < s));
                orders[start..]
                    .iter()
                    .map(|o| order_whole(o, cfg))
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        let (file, objects) = bulk::write(schema, root, &roots, grouped);
        (file, objects, roots.len() as u64)
    }

    /// How many bulk exports were started.
    pub fn exports(&self) -> usize {
        self.exports.lock().map(|e| e.len()).unwrap_or(0)
    }
}

/// `GET /bulk-results/{id}.jsonl`: a finished export's file (a signed URL at Shopify: no token).
async fn bulk_result(
    State(sim): State<Arc<ShopifySim>>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    let id: Option<u64> = name.strip_suffix(".jsonl").and_then(|n| n.parse().ok());
    let file = sim.exports.lock().ok().and_then(|e| {
        e.iter()
            .find(|x| Some(x.id) == id)
            .and_then(|x| x.file.clone())
    });
    match file {
        Some(f) => (
            [(axum::http::header::CONTENT_TYPE, "application/jsonl")],
            f.as_ref().clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
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

//! The GraphQL endpoint: a request parsed, checked and costed against the schema, refused as
//! Shopify refuses (over the cap, bucket short), then answered field by field from the sim's
//! orders and bulk exports and charged its actual cost.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use graphql_parser::query::{Definition, OperationDefinition};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ShopifySim, ShopifySimConfig, SimFo, SimFulfillment, SimOrder, bulk, cost, exec, schema,
};

pub(super) fn gid(kind: &str, id: u64) -> String {
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
                "weight": {"unit": "POUNDS", "value": p.weight_lb},
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

pub(super) async fn graphql(
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
    // GraphQL refuses a document with a fragment it never spreads.
    if let Some(unused) = fragments
        .keys()
        .find(|name| !req.query.contains(&format!("...{name}")))
    {
        return refused(
            &format!("Fragment {unused} was defined, but not used"),
            "useAndDefineFragment",
        );
    }
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
                "throttleStatus": {"maximumAvailable": max, "currentlyAvailable": sim.bucket_available(), "restoreRate": cfg.restore_rate}}},
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

pub(super) fn json_answer(v: Value) -> Response {
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
            numbers: list_or_one(&f["trackingInfo"], "numbers", "number"),
            urls: list_or_one(&f["trackingInfo"], "urls", "url"),
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
pub(super) async fn bulk_result(
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

/// Shopify's tracking input takes one (`number`) or several (`numbers`); so do its URLs.
fn list_or_one(info: &Value, many: &str, one: &str) -> Vec<String> {
    match info[many].as_array() {
        Some(all) => all
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        None => info[one].as_str().map(String::from).into_iter().collect(),
    }
}

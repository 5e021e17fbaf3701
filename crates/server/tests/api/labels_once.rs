//! One label per package, under the races a bench really sees: two clicks, two stations, two
//! hubs on one database, a batch naming an order twice, a re-pack or a cancel while UPS
//! answers, a client that goes away, a purchase whose answer was lost. The truth is the UPS
//! sim's own list of labels it sold, bought through the real UPS client on loopback.

use packbench_core::ports::OrderStore;
use packbench_core::ports::ShipmentStore;
use packbench_core::ports::{Clock, SystemClock};
use std::sync::Arc;
use std::time::Duration;

use packbench_core::domain::{ShipmentId, TenantId, TrackingNumber};
use packbench_core::model::{Actor, LabelFormat, Shipment, ShipmentStatus};
use packbench_core::service::LabelTiming;
use packbench_core::workflow::{self, Action};
use packbench_sim::{ShopifySim, ShopifySimConfig, UpsSim, UpsSimConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::ups_sim::{connect_ups, quick_settling, ready_to_ship};

/// The UPS sim on loopback, each call answered after `latency_ms`, and the tenant set up to
/// buy from it.
async fn ups(app: &TestApp, latency_ms: u64) -> Arc<UpsSim> {
    let sim = UpsSim::new(UpsSimConfig {
        latency_ms,
        ..UpsSimConfig::default()
    })
    .unwrap();
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    connect_ups(app, &sim, addr).await;
    sim
}

/// Labels the sim sold and did not void, per order name printed on them.
fn live_labels(sim: &UpsSim, order_name: &str) -> usize {
    sim.shipments()
        .iter()
        .filter(|s| !s.voided && s.references.iter().any(|r| r == order_name))
        .count()
}

fn ship() -> Value {
    json!({"action": "ship", "service": "ground"})
}

async fn ship_with_key(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
    key: &str,
) -> (u16, Value) {
    let r = http
        .post(format!("{base}/api/acme/orders/{id}/operations"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&ship())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let o = app.get(&format!("/orders/{id}"), &app.admin).await;
    o.body["data"]["status"].as_str().unwrap().to_owned()
}

/// Two clicks, two stations: N ship requests on one order at once, each with its own key,
/// on one hub and on a second hub over the same database.
pub async fn concurrent_ships_buy_one_label(url: String) {
    let app =
        TestApp::spawn_with_ups_timing(&url, Duration::from_secs(5), LabelTiming::default()).await;
    let sim = ups(&app, 300).await;
    let other = app
        .second_hub(&url, Duration::from_secs(5), LabelTiming::default())
        .await;
    let id = ready_to_ship(&app, "#R1").await;
    let station_b = app.login("acme", "admin", Some("bench-9")).await;
    let mut asks = Vec::new();
    for i in 0..8 {
        let (base, token) = if i % 2 == 0 {
            (app.base.clone(), app.packer.clone())
        } else {
            (other.clone(), station_b.clone())
        };
        let http = app.http.clone();
        let id = id.clone();
        asks.push(tokio::spawn(async move {
            ship_with_key(&http, &base, &token, &id, &format!("click-{i}")).await
        }));
    }
    let mut answers = Vec::new();
    for a in asks {
        answers.push(a.await.unwrap());
    }
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "one ship went through: {answers:?}");
    for (s, body) in answers.iter().filter(|(s, _)| *s != 200) {
        let code = body["error"]["code"].as_str().unwrap_or("");
        assert!(
            *s == 409 && (code == "label_in_progress" || code == "invalid_transition"),
            "the others are told why and buy nothing: {s} {body}"
        );
    }
    let in_progress = answers
        .iter()
        .find(|(_, b)| b["error"]["code"] == "label_in_progress");
    if let Some((_, b)) = in_progress {
        assert!(
            b["error"]["message"].as_str().unwrap().contains("wait"),
            "says what to do: {b}"
        );
    }
    assert_eq!(live_labels(&sim, "#R1"), 1, "one label at UPS");
    assert_eq!(status_of(&app, &id).await, "shipped");
}

/// `batches/ship` naming one order twice buys one label and answers once per order.
pub async fn a_batch_naming_an_order_twice_buys_one_label(url: String) {
    let app = TestApp::spawn_with_ups(&url, Duration::from_secs(5)).await;
    let sim = ups(&app, 100).await;
    let x = ready_to_ship(&app, "#D1").await;
    let y = ready_to_ship(&app, "#D2").await;
    let r = app
        .post(
            "/batches/ship",
            &app.admin,
            json!({"order_ids": [x, x, y, x], "service": "ground", "concurrency": 4}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(
        (d["total"].as_u64(), d["shipped"].as_u64()),
        (Some(2), Some(2)),
        "{d}"
    );
    assert_eq!(live_labels(&sim, "#D1"), 1);
    assert_eq!(live_labels(&sim, "#D2"), 1);
}

/// A re-pack or a cancel while UPS is answering is refused with what to do; the label
/// bought is the order's, and a second ship buys nothing.
pub async fn nothing_changes_the_order_while_its_label_is_bought(url: String) {
    let app = TestApp::spawn_with_ups(&url, Duration::from_secs(5)).await;
    let sim = ups(&app, 800).await;
    for (name, change) in [
        (
            "#P1",
            json!({"action": "pack", "package": {"weight": 9.5, "dimensions": {"length": 10, "width": 8, "height": 4}}}),
        ),
        (
            "#P2",
            json!({"action": "cancel", "reason": "customer called"}),
        ),
    ] {
        let id = ready_to_ship(&app, name).await;
        let (http, base, token, oid) = (
            app.http.clone(),
            app.base.clone(),
            app.packer.clone(),
            id.clone(),
        );
        let first = tokio::spawn(async move {
            ship_with_key(&http, &base, &token, &oid, &format!("first-{oid}")).await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = app.operate(&id, &app.admin, change.clone()).await;
        if r.status != 409 {
            panic!(
                "{name}: {} while the ship answered {:?}",
                r.body,
                first.await
            );
        }
        assert_eq!(r.code(), "label_in_progress", "{}", r.body);
        assert!(r.body["error"]["details"]["shipment_id"].is_string());
        let (s, body) = first.await.unwrap();
        assert_eq!(s, 200, "{body}");
        let shipment = body["data"]["shipment"]["id"].as_str().unwrap();
        let bought = app.get(&format!("/shipments/{shipment}"), &app.admin).await;
        assert_eq!(
            bought.body["data"]["package"]["weight"]["value"], 2.5,
            "the label is for the package it was bought for: {}",
            bought.body
        );
        let again = app.operate(&id, &app.packer, ship()).await;
        assert_eq!(again.status, 409, "{}", again.body);
        assert_eq!(again.code(), "invalid_transition");
        assert_eq!(live_labels(&sim, name), 1, "{name}");
        assert_eq!(status_of(&app, &id).await, "shipped");
    }
    // Clearing the orders waits for no purchase: it is refused while one runs.
    let id = ready_to_ship(&app, "#P3").await;
    let (http, base, token, oid) = (
        app.http.clone(),
        app.base.clone(),
        app.packer.clone(),
        id.clone(),
    );
    let first = tokio::spawn(async move { ship_with_key(&http, &base, &token, &oid, "p3").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = app
        .call(Method::DELETE, "/api/acme/sync", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(first.await.unwrap().0, 200);
    assert_eq!(status_of(&app, &id).await, "shipped", "nothing was cleared");
}

/// A client that goes away mid-purchase cuts nothing: the label is bought, recorded, the
/// order ships, and the same Idempotency-Key answers it.
pub async fn a_client_that_goes_away_cuts_nothing(url: String) {
    let app = TestApp::spawn_with_ups(&url, Duration::from_secs(5)).await;
    let sim = ups(&app, 800).await;
    let id = ready_to_ship(&app, "#G1").await;
    let gone = app
        .http
        .post(format!("{}/api/acme/orders/{id}/operations", app.base))
        .bearer_auth(&app.packer)
        .header("Idempotency-Key", "leaving")
        .json(&ship())
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(status_of(&app, &id).await, "shipped");
    assert_eq!(live_labels(&sim, "#G1"), 1);
    let (s, body) = ship_with_key(&app.http, &app.base, &app.packer, &id, "leaving").await;
    assert_eq!(s, 200, "the first answer, kept: {body}");
    assert_eq!(live_labels(&sim, "#G1"), 1);
}

/// A purchase whose answer was lost and could not be looked up stays reserved; the next
/// attempt finds the label UPS sold and adopts it (another hub waits out the lease first).
pub async fn a_lost_label_is_adopted_never_bought_again(url: String) {
    // Taken as under way for 6 s; a label the lookup does not find is not taken as never
    // sold for 1 s.
    let timing = LabelTiming {
        lease: chrono::Duration::seconds(6),
        ..quick_settling()
    };
    let app = TestApp::spawn_with_ups_timing(&url, Duration::from_secs(1), timing).await;
    let sim = ups(&app, 0).await;
    let id = ready_to_ship(&app, "#L1").await;
    let started = std::time::Instant::now();
    sim.configure(|c| {
        c.accept_then_timeout_next = 1;
        c.hang_ms = 3_000;
    });
    let (http, base, token, oid) = (
        app.http.clone(),
        app.base.clone(),
        app.packer.clone(),
        id.clone(),
    );
    let first =
        tokio::spawn(async move { ship_with_key(&http, &base, &token, &oid, "lost").await });
    // UPS has sold it and hangs; the lookup by reference then finds UPS unavailable.
    tokio::time::sleep(Duration::from_millis(400)).await;
    sim.configure(|c| c.unavailable_next = 20);
    let (s, body) = first.await.unwrap();
    assert_eq!(s, 502, "{body}");
    assert_eq!(body["error"]["code"], "carrier_unavailable");
    sim.configure(|c| c.unavailable_next = 0);
    assert_eq!(live_labels(&sim, "#L1"), 1, "UPS sold one");
    let o = app.get(&format!("/orders/{id}"), &app.admin).await;
    assert_eq!(o.body["data"]["status"], "packed", "{}", o.body);

    // Another hub cannot know that purchase has ended: refused until its lease is over.
    let other = app.second_hub(&url, Duration::from_secs(1), timing).await;
    let (s, body) = ship_with_key(&app.http, &other, &app.packer, &id, "other-hub").await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"]["code"], "label_in_progress");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the test ran too slowly to check the lease"
    );
    // This hub knows it ended here: it looks the label up at once and adopts it.
    let r = app.operate(&id, &app.packer, ship()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sold = sim.shipments();
    let sold = sold
        .iter()
        .find(|s| s.references.iter().any(|r| r == "#L1"))
        .unwrap();
    assert_eq!(
        r.body["data"]["shipment"]["tracking_number"],
        sold.tracking_number.as_str()
    );
    assert_eq!(live_labels(&sim, "#L1"), 1, "adopted, not bought again");
}

/// A label recorded as sold whose order never shipped (the hub stopped in between) is
/// adopted by the next attempt without asking UPS for another.
pub async fn a_recorded_label_is_adopted(url: String) {
    let app = TestApp::spawn_with_ups(&url, Duration::from_secs(2)).await;
    let sim = ups(&app, 0).await;
    let id = ready_to_ship(&app, "#A1").await;
    let tenant: &TenantId = &app.acme.id;
    let order_id = packbench_core::domain::OrderId::parse(&id).unwrap();
    let order = app.store.order(tenant, &order_id).await.unwrap().unwrap();
    let package = order.state.package.clone().unwrap();
    let now = SystemClock.now();
    let mut shipment = Shipment {
        id: ShipmentId::generate(),
        order_id: Some(order_id.clone()),
        status: ShipmentStatus::Pending,
        carrier: "ups".into(),
        service: packbench_core::domain::ServiceCode::parse("ground").unwrap(),
        tracking_number: None,
        estimated_delivery: None,
        package: package.clone(),
        ship_to: order.ship_to.clone(),
        created_at: now,
        updated_at: now,
        boxed_at: None,
        more_packages: Vec::new(),
    };
    let t = workflow::apply(
        &order.state,
        &Action::ReserveLabel {
            shipment: shipment.id.clone(),
            package,
        },
    )
    .unwrap();
    app.store
        .reserve_label(tenant, &order, &t, &shipment, &Actor::system(), now)
        .await
        .unwrap();
    let body = "999AA1001234567";
    let check = TrackingNumber::expected_check_digit(body).unwrap();
    app.store
        .put_label(
            tenant,
            &shipment.id,
            1,
            LabelFormat::Zpl,
            b"^XA^FDSAMPLE^FS^XZ",
        )
        .await
        .unwrap();
    shipment.status = ShipmentStatus::Created;
    shipment.tracking_number = Some(TrackingNumber::parse(&format!("1Z{body}{check}")).unwrap());
    app.store.update_shipment(tenant, &shipment).await.unwrap();

    // Reserved, and no purchase runs: a pack settles it first (the order ships with its
    // label), so the pack itself is refused as for any shipped order.
    let r = app
        .operate(
            &id,
            &app.packer,
            json!({"action": "pack", "package": {"weight": 3, "dimensions": {"length": 10, "width": 8, "height": 4}}}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.code(), "invalid_transition", "{}", r.body);
    let o = app.get(&format!("/orders/{id}"), &app.admin).await;
    assert_eq!(o.body["data"]["status"], "shipped", "{}", o.body);
    assert_eq!(sim.shipments().len(), 0, "nothing bought from UPS");
    let r = app.operate(&id, &app.packer, ship()).await;
    assert_eq!(r.code(), "invalid_transition");
    assert_eq!(sim.shipments().len(), 0);
}

/// The shop cancels an order while its label is bought: the order ends cancelled and the
/// label UPS sold for it is voided, on record.
pub async fn a_label_bought_for_an_order_the_shop_cancelled_is_voided(url: String) {
    let app = TestApp::spawn_with_ups(&url, Duration::from_secs(5)).await;
    let config = ShopifySimConfig {
        orders: 3,
        ..ShopifySimConfig::default()
    };
    let shop = ShopifySim::new(config.clone());
    let addr = packbench_sim::serve_loopback(shop.router()).await.unwrap();
    let base = format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION);
    let r = app.patch_settings(json!({"shopify": {"shop_domain": "acme.myshopify.com", "access_token": config.access_token,
                                    "api_base_url": base, "location_ids": [config.locations[0]]}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sim = ups(&app, 1_000).await;
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The first imported order, picked and packed as it comes.
    let list = app.get("/orders?status=pending", &app.admin).await;
    let first = &list.body["data"][0];
    let (id, name) = (
        first["id"].as_str().unwrap().to_owned(),
        first["name"].as_str().unwrap().to_owned(),
    );
    let r = app
        .operate(&id, &app.packer, json!({"action": "assign"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let detail = app.get(&format!("/orders/{id}"), &app.packer).await;
    let items: Vec<Value> = detail.body["data"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({"sku": l["sku"], "quantity": l["quantity"]}))
        .collect();
    let r = app
        .operate(&id, &app.packer, json!({"action": "pick", "items": items}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .operate(
            &id,
            &app.packer,
            json!({"action": "pack", "package": {"weight": 2, "dimensions": {"length": 10, "width": 8, "height": 4}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let (http, hub, token, oid) = (
        app.http.clone(),
        app.base.clone(),
        app.packer.clone(),
        id.clone(),
    );
    let buying = tokio::spawn(async move { ship_with_key(&http, &hub, &token, &oid, "c1").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    shop.cancel_order(&name);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["cancelled"], 1, "{}", r.body);
    let (s, body) = buying.await.unwrap();
    assert_eq!(s, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("voided"),
        "{body}"
    );
    assert_eq!(status_of(&app, &id).await, "cancelled");
    let sold: Vec<_> = sim
        .shipments()
        .into_iter()
        .filter(|s| s.references.iter().any(|r| r == &name))
        .collect();
    assert_eq!(sold.len(), 1, "bought once");
    assert!(sold[0].voided, "and voided at UPS");
    let shipments = app
        .get(&format!("/shipments?order_id={id}"), &app.admin)
        .await;
    assert_eq!(
        shipments.body["data"][0]["status"], "voided",
        "{}",
        shipments.body
    );
    let events = app.get(&format!("/orders/{id}"), &app.admin).await;
    assert!(
        events.body.to_string().contains("voided_order_cancelled"),
        "the void is on the order's record: {}",
        events.body
    );
}

/// The store fails at each step between the carrier's answer and the order shipping (a
/// fault injected there): the answer says what happened, its Idempotency-Key keeps that
/// answer, and the next ship ends with exactly one label, adopted when UPS had sold it.
pub async fn a_store_that_fails_mid_purchase_never_costs_a_second_label(url: String) {
    let timing = LabelTiming {
        lookup_lag: chrono::Duration::seconds(1),
        ..LabelTiming::default()
    };
    let app = TestApp::spawn_with_ups_timing(&url, Duration::from_secs(5), timing).await;
    let sim = ups(&app, 0).await;
    let tenant = app.acme.id.as_str().to_owned();
    for (i, (step, code)) in [
        ("reserved", "internal"),
        ("bought", "label_not_recorded"),
        ("label-kept", "label_not_recorded"),
        ("recorded", "label_not_recorded"),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("#F{i}");
        let id = ready_to_ship(&app, &name).await;
        fail::cfg(format!("label::{step}::{tenant}"), "1*return").unwrap();
        let key = format!("fault-{i}");
        let (s, body) = ship_with_key(&app.http, &app.base, &app.packer, &id, &key).await;
        fail::remove(format!("label::{step}::{tenant}"));
        assert_eq!(s, 500, "{step}: {body}");
        assert_eq!(body["error"]["code"], code, "{step}: {body}");
        assert_eq!(status_of(&app, &id).await, "packed", "{step}");
        let sold_before = live_labels(&sim, &name);
        assert_eq!(sold_before, usize::from(step != "reserved"), "{step}");
        if code == "label_not_recorded" {
            let (s, again) = ship_with_key(&app.http, &app.base, &app.packer, &id, &key).await;
            assert_eq!(
                (s, &again["error"]["code"]),
                (500, &json!(code)),
                "{step}: the key keeps the answer of a request that bought a label: {again}"
            );
        } else {
            // Nothing reached UPS; its lookup is trusted not to find it after the lag.
            tokio::time::sleep(Duration::from_millis(1_100)).await;
        }
        let r = app.operate(&id, &app.packer, ship()).await;
        assert_eq!(r.status, 200, "{step}: {}", r.body);
        assert_eq!(live_labels(&sim, &name), 1, "{step}: one label at UPS");
        if sold_before == 1 {
            let sold = sim.shipments();
            let sold = sold
                .iter()
                .find(|s| s.references.iter().any(|r| r == &name))
                .unwrap();
            assert_eq!(
                r.body["data"]["shipment"]["tracking_number"],
                sold.tracking_number.as_str(),
                "{step}: the label UPS sold is the one adopted"
            );
        }
    }
}

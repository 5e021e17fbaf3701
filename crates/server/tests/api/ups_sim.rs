//! Shipping through the real UPS client against the UPS sim on loopback: labels bought,
//! converted, reconciled after a lost answer, tracked to delivered, voided.

use std::time::Duration;

use packbench_core::domain::TrackingNumber;
use packbench_sim::{UpsSim, UpsSimConfig};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Reply, TestApp};

/// Sets the tenant up to buy from the UPS sim at `addr` (as an admin would): the answer.
pub async fn connect_ups(app: &TestApp, sim: &UpsSim, addr: std::net::SocketAddr) -> Reply {
    let cfg = sim.config();
    let settings = json!({
        "ups": {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
                "account_number": cfg.account_number, "base_url": format!("http://{addr}")},
        "shipper": {"name": "Acme Shipping", "phone": "212-555-0100",
                    "address": {"lines": ["450 W 33rd St"], "city": "New York", "state": "NY",
                                "postal_code": "10001", "country": "US"}},
    });
    let r = app.patch_settings(settings).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

/// Label purchases out of sight settled after a second.
pub fn quick_settling() -> packbench_core::service::LabelTiming {
    packbench_core::service::LabelTiming {
        lease: chrono::Duration::seconds(1),
        lookup_lag: chrono::Duration::seconds(1),
    }
}

pub async fn ready_to_ship(app: &TestApp, name: &str) -> String {
    let o = app.order(&app.acme, name, 1, &[("PROD-001", 1)]).await;
    let id = o.id().as_str().to_owned();
    for body in [
        json!({"action": "assign"}),
        json!({"action": "pick", "items": [{"sku": "PROD-001", "quantity": 1}]}),
        json!({"action": "pack", "package": {"weight": 2.5, "dimensions": {"length": 10, "width": 8, "height": 4}}}),
    ] {
        let r = app.operate(&id, &app.packer, body).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    id
}

pub async fn labels_are_bought_tracked_and_voided_through_the_ups_sim(url: String) {
    let sim = UpsSim::new(UpsSimConfig {
        transit_secs: 2,
        ..UpsSimConfig::default()
    })
    .unwrap();
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    // A lost answer is settled after a second here (minutes in a hub).
    let app = TestApp::spawn_with_ups_timing(&url, Duration::from_secs(2), quick_settling()).await;

    // Not set up yet: a clear 503.
    let id = ready_to_ship(&app, "#U1").await;
    let r = app
        .operate(
            &id,
            &app.packer,
            json!({"action": "ship", "service": "ground"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "carrier_not_configured");

    let cfg = sim.config();
    let r = connect_ups(&app, &sim, addr).await;
    assert!(
        !r.body.to_string().contains(&cfg.client_secret),
        "the secret never comes back"
    );

    // Ship: exactly the seed's shape, one label at UPS.
    let r = app
        .operate(
            &id,
            &app.packer,
            json!({"action": "ship", "service": "ground"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = &r.body["data"]["shipment"];
    let shipment = s["id"].as_str().unwrap().to_owned();
    let tracking = s["tracking_number"].as_str().unwrap().to_owned();
    assert!(
        TrackingNumber::parse(&tracking).unwrap().check_digit_ok(),
        "{tracking}"
    );
    assert_eq!(s["carrier"], "ups");
    assert_eq!(r.body["data"]["status"], "shipped");
    assert_eq!(sim.shipments().len(), 1);
    let sold = &sim.shipments()[0];
    assert_eq!(sold.tracking_number, tracking);
    assert!(
        sold.references.contains(&shipment) && sold.references.contains(&"#U1".to_string()),
        "our shipment id and the order name are printed as references: {:?}",
        sold.references
    );

    // Every label format, from the ZPL UPS sold.
    let get = |path: String| {
        let app = &app;
        async move {
            app.raw(Method::GET, &path, Some(&app.packer), "", &[])
                .await
        }
    };
    let zpl = get(format!("/api/acme/labels/{shipment}/zpl")).await;
    assert_eq!(zpl.status, 200);
    let zpl_text = String::from_utf8(zpl.bytes.clone()).unwrap();
    assert!(
        zpl_text.starts_with("^XA") && zpl_text.contains("^GFA"),
        "{}",
        &zpl_text[..40]
    );
    let png = get(format!("/api/acme/labels/{shipment}/png")).await;
    assert_eq!(png.status, 200);
    assert_eq!(png.headers["content-type"], "image/png");
    let img = image::load_from_memory(&png.bytes).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (812, 1218),
        "a 4x6 label at 203 dpi"
    );
    let pdf = get(format!("/api/acme/labels/{shipment}/pdf")).await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.bytes.starts_with(b"%PDF"));

    // The packing slip for the box.
    let slip = get(format!("/api/acme/orders/{id}/packing-slip")).await;
    assert_eq!(slip.status, 200);
    assert_eq!(slip.headers["content-type"], "application/pdf");
    assert!(slip.bytes.starts_with(b"%PDF"));

    // Rates and the address check, before buying the next one.
    let rates = app
        .post(
            "/rates",
            &app.packer,
            json!({"order_id": id, "package": {"weight": 2}}),
        )
        .await;
    assert_eq!(rates.status, 200, "{}", rates.body);
    let services: Vec<&str> = rates.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["ground", "3day", "2day", "next_day"]);
    assert_eq!(rates.body["data"][0]["transit_days"], 5);
    let check = app
        .post("/address-checks", &app.packer, json!({"ship_to": {"lines": ["Main Street"], "city": "Austin", "state": "TX", "postal_code": "73301", "country": "US"}}))
        .await;
    assert_eq!(check.status, 200, "{}", check.body);
    assert_eq!(check.body["data"]["verdict"], "ambiguous");

    // UPS sells the label, then the answer is lost: reconciled by reference, never rebought.
    let second = ready_to_ship(&app, "#U2").await;
    sim.configure(|c| {
        c.accept_then_timeout_next = 1;
        c.hang_ms = 5_000;
    });
    let r = app
        .operate(
            &second,
            &app.packer,
            json!({"action": "ship", "service": "2day"}),
        )
        .await;
    assert_eq!(r.status, 200, "the lost answer is found again: {}", r.body);
    assert_eq!(sim.shipments().len(), 2, "one label for one package");
    assert_eq!(
        r.body["data"]["shipment"]["tracking_number"],
        sim.shipments()[1].tracking_number.as_str()
    );

    // Tracking: M → P → I → D; D delivers the order.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let t = app
        .post(
            &format!("/shipments/{shipment}/track"),
            &app.packer,
            json!({}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.body);
    let kinds: Vec<&str> = t.body["data"]["tracking_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["label_created", "picked_up", "in_transit", "delivered"]
    );
    assert_eq!(t.body["data"]["order_status"], "delivered");
    assert_eq!(t.body["data"]["status"], "delivered");
    let order = app.get(&format!("/orders/{id}"), &app.packer).await;
    assert_eq!(order.body["data"]["status"], "delivered", "{}", order.body);
    let detail = app
        .get(&format!("/shipments/{shipment}"), &app.packer)
        .await;
    assert_eq!(
        detail.body["data"]["tracking_events"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // The poller follows the rest without anyone asking: the second parcel is delivered too.
    let asked = packbench_server::tracking::poll_once(&app.state).await;
    assert!(asked >= 1, "shipments in transit were asked about");
    let o = app.get(&format!("/orders/{second}"), &app.packer).await;
    assert_eq!(o.body["data"]["status"], "delivered", "{}", o.body);

    // Void: UPS voids, the order goes back to packed, a repeat at UPS is harmless.
    let third = ready_to_ship(&app, "#U3").await;
    let r = app
        .operate(
            &third,
            &app.packer,
            json!({"action": "ship", "service": "next_day"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .operate(&third, &app.admin, json!({"action": "void"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["status"], "packed");
    assert!(sim.shipments()[2].voided);

    // Batch ship: bounded concurrency, per-order results in the order asked, progress on the
    // event stream, a failure reported as retryable, and a second run ships only what failed.
    let mut batch = Vec::new();
    for i in 0..5 {
        batch.push(ready_to_ship(&app, &format!("#B{i}")).await);
    }
    let mut events = app
        .http
        .get(format!("{}/api/acme/events", app.base))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    sim.configure(|c| c.unavailable_next = 1);
    let before = sim.shipments().len();
    let r = app
        .post(
            "/batches/ship",
            &app.admin,
            json!({"order_ids": batch, "service": "ground", "concurrency": 2}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(
        (
            d["total"].as_u64(),
            d["shipped"].as_u64(),
            d["failed"].as_u64()
        ),
        (Some(5), Some(4), Some(1)),
        "{d}"
    );
    let ids: Vec<&str> = d["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        batch.iter().map(String::as_str).collect::<Vec<_>>(),
        "in the order asked"
    );
    let failed = d["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ok"] == false)
        .unwrap();
    assert_eq!(failed["error"]["code"], "carrier_unavailable");
    assert_eq!(failed["error"]["retryable"], true);
    assert_eq!(sim.shipments().len(), before + 4);
    let mut seen = String::new();
    while !seen.contains("\"done\":5") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), events.chunk())
            .await
            .expect("progress events")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("event: batch_progress") && seen.contains("\"total\":5"),
        "{seen}"
    );
    // UPS's 503 may have come after the sale: that order stays reserved until the lookup by
    // reference can be trusted not to find it (a second here), then it is bought again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let again = app
        .post(
            "/batches/ship",
            &app.admin,
            json!({"order_ids": batch, "service": "ground"}),
        )
        .await;
    let d = &again.body["data"];
    assert_eq!(
        (
            d["shipped"].as_u64(),
            d["skipped"].as_u64(),
            d["failed"].as_u64()
        ),
        (Some(1), Some(4), Some(0)),
        "{d}"
    );
    assert_eq!(
        sim.shipments().len(),
        before + 5,
        "safe to run twice: one label per order"
    );

    // A refusal from UPS is a 422 with UPS's code, and the order stays packed.
    let fourth = ready_to_ship(&app, "#U4").await;
    let sold = sim.shipments().len();
    let r = app
        .patch_settings(json!({"ups": {"account_number": "WRONG1"}}))
        .await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(Duration::from_millis(2_100)).await; // the settings cache
    let r = app
        .operate(
            &fourth,
            &app.packer,
            json!({"action": "ship", "service": "ground"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.code(), "carrier_rejected");
    assert_eq!(r.body["error"]["details"]["carrier_code"], "120100");
    let o = app.get(&format!("/orders/{fourth}"), &app.packer).await;
    assert_eq!(o.body["data"]["status"], "packed");
    assert_eq!(sim.shipments().len(), sold, "nothing sold");
}

/// UPS refuses for a while (429s past the client's retries): nothing is bought, and the same
/// purchase, with the same Idempotency-Key, buys its one label once UPS answers again; after
/// that the key answers that label.
pub async fn a_failed_purchase_is_tried_again_under_its_key(url: String) {
    let sim = UpsSim::new(UpsSimConfig::default()).unwrap();
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    let app = TestApp::spawn_with_ups_timing(&url, Duration::from_secs(5), quick_settling()).await;
    let r = connect_ups(&app, &sim, addr).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = ready_to_ship(&app, "#K1").await;
    let path = format!("/api/acme/orders/{id}/operations");
    let buy = || {
        app.raw(
            Method::POST,
            &path,
            Some(&app.packer),
            r#"{"action": "ship", "service": "ground"}"#,
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "buy-K1"),
            ],
        )
    };
    sim.configure(|c| c.throttle_next = 10);
    let r = buy().await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.code(), "carrier_unavailable");
    assert!(sim.shipments().is_empty());
    sim.configure(|c| c.throttle_next = 0);
    let r = buy().await;
    assert_eq!(
        r.status, 200,
        "the same key buys once UPS answers: {}",
        r.body
    );
    assert!(r.headers.get("idempotent-replayed").is_none());
    let again = buy().await;
    assert_eq!(again.status, 200);
    assert!(again.headers.get("idempotent-replayed").is_some());
    assert_eq!(
        again.body["data"]["shipment"]["tracking_number"],
        r.body["data"]["shipment"]["tracking_number"]
    );
    assert_eq!(sim.shipments().len(), 1, "one label, whatever the retries");
}

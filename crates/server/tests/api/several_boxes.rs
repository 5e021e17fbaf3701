//! Several boxes: an order packed into N boxes ships as one UPS shipment of N packages, a
//! tracking number and a label each; labels, box scans, the end of day and voids per box; a
//! lost answer adopted whole; never a second purchase.

use std::time::Duration;

use packbench_sim::{UpsSim, UpsSimConfig};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::ups_sim::{connect_ups, quick_settling};

fn a_box(weight: f64, name: &str) -> Value {
    json!({"weight": weight, "weight_unit": "lb", "box": name,
           "dimensions": {"length": 10, "width": 8, "height": 4}})
}

/// An order picked and packed into three boxes.
async fn packed_in_three(app: &TestApp, name: &str) -> String {
    let o = app
        .order(&app.acme, name, 1, &[("PROD-001", 2), ("PROD-002", 1)])
        .await;
    let id = o.id().as_str().to_owned();
    for body in [
        json!({"action": "assign"}),
        json!({"action": "pick", "items": [{"sku": "PROD-001", "quantity": 2}, {"sku": "PROD-002"}]}),
        json!({"action": "pack", "package": a_box(2.0, "M"),
               "more_packages": [a_box(1.5, "S"), a_box(4.25, "L")]}),
    ] {
        let r = app.operate(&id, &app.packer, body).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    id
}

fn sold_under(sim: &UpsSim, order_name: &str) -> Vec<packbench_sim::ups::SimShipment> {
    sim.shipments()
        .into_iter()
        .filter(|s| s.references.iter().any(|r| r == order_name))
        .collect()
}

pub async fn an_order_in_several_boxes_ships_as_one_shipment_with_a_label_each(url: String) {
    let app = TestApp::spawn_with_ups(&url, Duration::from_secs(5)).await;
    let sim = UpsSim::new(UpsSimConfig::default()).unwrap();
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    connect_ups(&app, &sim, addr).await;

    // Too many boxes, or a bad one, packs nothing.
    let many: Vec<Value> = (0..20).map(|_| a_box(1.0, "S")).collect();
    let id = packed_in_three(&app, "#M1").await;
    let r = app
        .operate(
            &id,
            &app.packer,
            json!({"action": "pack", "package": a_box(1.0, "S"), "more_packages": many}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error"]["details"]["field"], "more_packages");
    let o = app.get(&format!("/orders/{id}"), &app.packer).await;
    assert_eq!(o.body["data"]["package"]["weight"]["value"], 2.0);
    let more = o.body["data"]["more_boxes"].as_array().unwrap();
    assert_eq!(more.len(), 2, "{}", o.body);
    assert_eq!(more[1]["box"], "L");

    // One purchase, three packages, three numbers.
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
    let lead = s["tracking_number"].as_str().unwrap().to_owned();
    let boxes = s["more_packages"].as_array().unwrap();
    assert_eq!(boxes.len(), 2, "{s}");
    let numbers: Vec<String> = std::iter::once(lead.clone())
        .chain(
            boxes
                .iter()
                .map(|b| b["tracking_number"].as_str().unwrap().to_owned()),
        )
        .collect();
    let sold = sold_under(&sim, "#M1");
    assert_eq!(sim.ship_calls(), 1, "one request for the three boxes");
    assert_eq!(
        sold.iter()
            .map(|p| p.tracking_number.clone())
            .collect::<Vec<_>>(),
        numbers,
        "each box has the number UPS gave it"
    );
    assert!(sold.iter().all(|p| p.shipment_number == lead));

    // A label per box, in every format; no fourth box.
    let mut zpls = Vec::new();
    for n in 1..=3 {
        let r = app
            .http
            .get(format!(
                "{}/api/acme/labels/{shipment}/zpl?package={n}",
                app.base
            ))
            .bearer_auth(&app.packer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "box {n}");
        let zpl = r.text().await.unwrap();
        assert!(zpl.starts_with("^XA"), "box {n}: {zpl:.40}");
        assert!(!zpls.contains(&zpl), "box {n}'s label is its own");
        zpls.push(zpl);
        let png = app
            .http
            .get(format!(
                "{}/api/acme/labels/{shipment}/png?package={n}",
                app.base
            ))
            .bearer_auth(&app.packer)
            .send()
            .await
            .unwrap();
        assert_eq!(png.status(), 200);
        assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG"));
    }
    let r = app
        .get(&format!("/labels/{shipment}/png?package=4"), &app.packer)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = app
        .get(&format!("/labels/{shipment}/png?package=0"), &app.packer)
        .await;
    assert_eq!(r.status, 422, "{}", r.body);

    // Each box's label is scanned onto its box; the end of day waits for all three.
    for (i, tracking) in numbers.iter().enumerate() {
        let d = app.get("/end-of-day", &app.packer).await.body["data"].clone();
        assert_eq!(d["parcels"], 3, "{d}");
        assert_eq!(d["not_boxed"].as_array().unwrap().len(), 1, "box {i}: {d}");
        let r = app
            .post(
                &format!("/shipments/{shipment}/box-scan"),
                &app.packer,
                json!({"code": tracking}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let d = app.get("/end-of-day", &app.packer).await.body["data"].clone();
    assert_eq!(d["not_boxed"], json!([]), "{d}");
    let s = app
        .get(&format!("/shipments/{shipment}"), &app.packer)
        .await;
    assert!(
        s.body["data"]["more_packages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["boxed_at"].is_string()),
        "{}",
        s.body
    );

    // Each box is followed by its own number.
    let t = app
        .post(
            &format!("/shipments/{shipment}/track"),
            &app.packer,
            json!({}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.body);
    let boxes = t.body["data"]["more_packages"].as_array().unwrap();
    assert_eq!(boxes.len(), 2);
    assert!(
        boxes
            .iter()
            .all(|b| !b["tracking_events"].as_array().unwrap().is_empty()),
        "{}",
        t.body
    );

    // A void is the whole shipment's.
    let r = app
        .operate(&id, &app.admin, json!({"action": "void"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(sold_under(&sim, "#M1").iter().all(|p| p.voided));

    // Four stations ship the same three-box order at once: one purchase, three labels.
    let raced = packed_in_three(&app, "#M4").await;
    let tries = (0..4).map(|_| {
        app.operate(
            &raced,
            &app.packer,
            json!({"action": "ship", "service": "ground"}),
        )
    });
    let answers = futures::future::join_all(tries).await;
    assert!(answers.iter().any(|r| r.status == 200), "one of them ships");
    assert!(
        answers
            .iter()
            .all(|r| r.status == 200
                || ["label_in_progress", "invalid_transition"].contains(&r.code())),
        "the others are told it is being bought, or already shipped"
    );
    assert_eq!(sold_under(&sim, "#M4").len(), 3, "never a box bought twice");

    // Batch ship buys the boxes of every packed order.
    let other = packed_in_three(&app, "#M2").await;
    let r = app
        .post("/batches/ship", &app.admin, json!({"order_ids": [other]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(sold_under(&sim, "#M2").len(), 3);
}

pub async fn a_lost_answer_for_several_boxes_is_adopted_whole(url: String) {
    let app = TestApp::spawn_with_ups_timing(&url, Duration::from_secs(1), quick_settling()).await;
    let sim = UpsSim::new(UpsSimConfig::default()).unwrap();
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    connect_ups(&app, &sim, addr).await;
    let id = packed_in_three(&app, "#M3").await;
    // UPS sells the three and its answer never comes.
    sim.configure(|c| {
        c.accept_then_timeout_next = 1;
        c.hang_ms = 3_000;
    });
    let first = app
        .operate(
            &id,
            &app.packer,
            json!({"action": "ship", "service": "ground"}),
        )
        .await;
    assert_ne!(first.status, 500, "{}", first.body);
    sim.configure(|c| c.hang_ms = 0);
    let mut r = first;
    for _ in 0..20 {
        if r.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        r = app
            .operate(
                &id,
                &app.packer,
                json!({"action": "ship", "service": "ground"}),
            )
            .await;
    }
    assert_eq!(r.status, 200, "{}", r.body);
    let sold = sold_under(&sim, "#M3");
    assert_eq!(sold.len(), 3, "the three UPS sold, never bought again");
    assert_eq!(sim.ship_calls(), 1);
    assert_eq!(
        r.body["data"]["shipment"]["estimated_delivery"],
        Value::Null,
        "found by reference (the lookup gives no date), not from the lost answer"
    );
    let s = &r.body["data"]["shipment"];
    let mut adopted = vec![s["tracking_number"].as_str().unwrap().to_owned()];
    adopted.extend(
        s["more_packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["tracking_number"].as_str().unwrap().to_owned()),
    );
    assert_eq!(
        adopted,
        sold.iter()
            .map(|p| p.tracking_number.clone())
            .collect::<Vec<_>>(),
        "every box's number adopted"
    );
}

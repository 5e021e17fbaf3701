//! Label to box: the packer scans the printed label on its box; another order's label, a
//! voided one or no label is refused, and labels never scanned are listed.

use packbench_core::ports::{Clock, SystemClock};
use packbench_sim::{UpsSim, UpsSimConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::ups_sim::{connect_ups, ready_to_ship};

async fn shipped(app: &TestApp, name: &str) -> (String, String, String) {
    let id = ready_to_ship(app, name).await;
    let r = app
        .operate(
            &id,
            &app.packer,
            json!({"action": "ship", "service": "ground"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = &r.body["data"]["shipment"];
    (
        id,
        s["id"].as_str().unwrap().to_owned(),
        s["tracking_number"].as_str().unwrap().to_owned(),
    )
}

async fn scan(app: &TestApp, shipment: &str, code: &str) -> crate::helpers::Reply {
    app.post(
        &format!("/shipments/{shipment}/box-scan"),
        &app.packer,
        json!({"code": code}),
    )
    .await
}

async fn unboxed(app: &TestApp) -> Vec<String> {
    let r = app.get("/shipments?boxed=false", &app.packer).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn a_label_is_scanned_onto_its_own_box_and_no_other(url: String) {
    let app = TestApp::spawn_with_ups(&url, std::time::Duration::from_secs(5)).await;
    let sim = UpsSim::new(UpsSimConfig::default()).unwrap();
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    connect_ups(&app, &sim, addr).await;
    let (_, a, a_tracking) = shipped(&app, "#B1").await;
    let (b_order, b, b_tracking) = shipped(&app, "#B2").await;
    let mut both = unboxed(&app).await;
    both.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(both, expected, "bought and never scanned: both");

    // B's label on A's box: refused, naming the order it belongs on.
    let r = scan(&app, &a, &b_tracking).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.code(), "wrong_label");
    assert_eq!(r.body["error"]["details"]["belongs_to_order"], b_order);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("#B2") && message.contains("#B1"),
        "{message}"
    );
    // Something that is no label of ours, and nothing at all.
    let r = scan(&app, &a, "036000291452").await;
    assert_eq!(r.code(), "wrong_label", "{}", r.body);
    assert_eq!(r.body["error"]["details"]["belongs_to_order"], Value::Null);
    let r = scan(&app, &a, "  ").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error"]["details"]["field"], "code");
    assert!(
        unboxed(&app).await.contains(&a),
        "a wrong scan records nothing"
    );

    // Its own label, as a scanner may send it: recorded once, the first time kept.
    let spaced = format!(" {} ", a_tracking.to_lowercase());
    let r = scan(&app, &a, &spaced).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let first = r.body["data"]["boxed_at"].clone();
    assert!(first.is_string(), "{}", r.body);
    let r = scan(&app, &a, &a_tracking).await;
    assert_eq!(
        r.body["data"]["boxed_at"], first,
        "the first scan's time stays"
    );
    assert_eq!(unboxed(&app).await, vec![b.clone()]);
    let boxed = app.get("/shipments?boxed=true", &app.packer).await;
    assert_eq!(boxed.body["data"][0]["id"], a.as_str());
    let r = app.get("/shipments?boxed=maybe", &app.packer).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error"]["details"]["field"], "boxed");

    // A voided label must not ship: its scan says so, and it is not listed as missing a box.
    let r = app
        .operate(&b_order, &app.admin, json!({"action": "void"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = scan(&app, &b, &b_tracking).await;
    assert_eq!(r.code(), "wrong_label", "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("voided"),
        "{}",
        r.body
    );
    assert_eq!(unboxed(&app).await, Vec::<String>::new());

    // Another tenant's shipment is not found; so is a made-up one.
    let r = app
        .call(
            Method::POST,
            &format!("/api/bolt/shipments/{a}/box-scan"),
            Some(&app.bolt_admin),
            Some(json!({"code": a_tracking})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = scan(&app, "shp_nope", &a_tracking).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

pub async fn the_end_of_day_lists_the_days_labels_and_prints_a_count_sheet(url: String) {
    let app = TestApp::spawn_with_ups(&url, std::time::Duration::from_secs(5)).await;
    let sim = UpsSim::new(UpsSimConfig::default()).unwrap();
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    connect_ups(&app, &sim, addr).await;
    let (_, a, a_tracking) = shipped(&app, "#E1").await;
    let (b_order, b, _) = shipped(&app, "#E2").await;
    let (_, c, _) = shipped(&app, "#E3").await;
    assert_eq!(scan(&app, &a, &a_tracking).await.status, 200);
    let r = app
        .operate(&b_order, &app.admin, json!({"action": "void"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let before = SystemClock.now().date_naive().to_string();
    let r = app.get("/end-of-day", &app.packer).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    let today = d["date"].as_str().unwrap().to_owned();
    let after = SystemClock.now().date_naive().to_string();
    assert!(today == before || today == after, "today in UTC: {today}");
    let ids = |k: &str| -> Vec<String> {
        d[k].as_array()
            .unwrap()
            .iter()
            .map(|l| l["shipment_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("bought"), vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(ids("not_boxed"), vec![c.clone()], "A was scanned, B voided");
    assert_eq!(ids("voided"), vec![b.clone()]);
    assert_eq!(d["not_boxed"][0]["order_name"], "#E3");
    assert_eq!(d["parcels"], 2);
    let ground = &d["per_service"][0];
    assert_eq!(
        (&ground["service"], &ground["parcels"], &ground["voided"]),
        (&json!("ground"), &json!(2), &json!(1))
    );

    // Another day has nothing; a far-east warehouse's today may be tomorrow in UTC.
    let r = app.get("/end-of-day?date=2020-01-01", &app.packer).await;
    assert_eq!(r.body["data"]["parcels"], 0, "{}", r.body);
    assert_eq!(r.body["data"]["bought"], json!([]));
    let r = app
        .get(
            &format!("/end-of-day?date={today}&utc_offset=%2B14:00"),
            &app.packer,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["data"]["from"].as_str().unwrap() < d["from"].as_str().unwrap());
    for (q, field) in [
        ("date=07/12/2026", "date"),
        ("utc_offset=%2B15:00", "utc_offset"),
        ("utc_offset=EST", "utc_offset"),
    ] {
        let r = app.get(&format!("/end-of-day?{q}"), &app.packer).await;
        assert_eq!(r.status, 422, "{q}: {}", r.body);
        assert_eq!(r.body["error"]["details"]["field"], field);
    }

    // The driver's count sheet.
    let r = app
        .http
        .get(format!("{}/api/acme/end-of-day/count-sheet", app.base))
        .bearer_auth(&app.packer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));
}

//! Ship and void through the Carrier port, end to end over HTTP. The carrier here is a small
//! in-memory one that counts its calls (the UPS client and its sim are their own issue): what
//! is tested is the hub's side — the seed's ship answer, stock taken and given back, the label
//! stored, and never a second label for one package.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use packbench_core::domain::{TenantId, TrackingNumber};
use packbench_core::model::{LabelFormat, Shipment};
use packbench_core::ports::{Carrier, CarrierError, Carriers, LabelPurchase, LabelRequest};
use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

#[derive(Default)]
pub struct CountingCarrier {
    pub bought: AtomicU32,
    pub voided: AtomicU32,
}

#[async_trait]
impl Carrier for CountingCarrier {
    fn name(&self) -> &'static str {
        "ups"
    }
    async fn buy_label(&self, request: &LabelRequest) -> Result<LabelPurchase, CarrierError> {
        if request.ship_to.lines.is_empty() {
            return Err(CarrierError::Rejected {
                carrier: "ups",
                code: "120202".into(),
                message: "missing address line".into(),
            });
        }
        let n = self.bought.fetch_add(1, Ordering::SeqCst);
        // A 1Z number with a correct check digit, different for every label.
        let body = format!("999AA10{:08}", 1234567 + n);
        let check = TrackingNumber::expected_check_digit(&body).unwrap();
        Ok(LabelPurchase {
            tracking_number: TrackingNumber::parse(&format!("1Z{body}{check}")).unwrap(),
            estimated_delivery: chrono::NaiveDate::from_ymd_opt(2026, 2, 26),
            label_format: LabelFormat::Zpl,
            label: format!(
                "^XA^FO50,50^A0N,50,50^FDSAMPLE {}^FS^XZ",
                request.shipment_id
            )
            .into_bytes(),
            more_packages: Vec::new(),
        })
    }
    async fn void_label(&self, _shipment: &Shipment) -> Result<(), CarrierError> {
        self.voided.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn recover_label(
        &self,
        _shipment: &Shipment,
    ) -> Result<(LabelFormat, Vec<u8>), CarrierError> {
        Err(unsupported())
    }
    async fn find_lost_label(
        &self,
        _shipment: &Shipment,
    ) -> Result<Option<LabelPurchase>, CarrierError> {
        Ok(None)
    }
    async fn track(
        &self,
        _shipment: &Shipment,
    ) -> Result<packbench_core::ports::TrackingReport, CarrierError> {
        Err(unsupported())
    }
    async fn rates(
        &self,
        _ship_to: &packbench_core::model::Address,
        _package: &packbench_core::domain::Package,
    ) -> Result<Vec<packbench_core::ports::Rate>, CarrierError> {
        Err(unsupported())
    }
    async fn check_address(
        &self,
        _address: &packbench_core::model::Address,
    ) -> Result<packbench_core::ports::AddressCheck, CarrierError> {
        Err(unsupported())
    }
}

/// This in-memory carrier only sells and voids (the UPS sim tests cover the rest).
fn unsupported() -> CarrierError {
    CarrierError::Unavailable {
        carrier: "ups",
        message: "not supported by the counting carrier".into(),
    }
}

pub struct One(pub Arc<CountingCarrier>);

#[async_trait]
impl Carriers for One {
    async fn for_tenant(&self, _tenant: &TenantId) -> Option<Arc<dyn Carrier>> {
        Some(self.0.clone())
    }
}

pub async fn shipping_takes_stock_voiding_gives_it_back_and_a_retry_buys_no_second_label(
    url: String,
) {
    let carrier = Arc::new(CountingCarrier::default());
    let app = TestApp::spawn_with(&url, Arc::new(One(carrier.clone()))).await;
    let stock = json!({"changes": [{"sku": "PROD-001", "location": "A-2", "on_hand": 1}, {"sku": "PROD-001", "location": "A-10", "on_hand": 5}]});
    assert_eq!(
        app.call(
            Method::PATCH,
            "/api/acme/inventory",
            Some(&app.admin),
            Some(stock)
        )
        .await
        .status,
        200
    );
    let o = app.order(&app.acme, "#1", 1, &[("PROD-001", 3)]).await;
    let id = o.id().as_str();
    for body in [
        json!({"action": "assign"}),
        json!({"action": "pick", "items": [{"sku": "PROD-001", "quantity": 3}]}),
        json!({"action": "pack", "package": {"weight": 2.5, "dimensions": {"length": 10, "width": 8, "height": 4}}}),
    ] {
        assert_eq!(app.operate(id, &app.packer, body).await.status, 200);
    }
    let levels = app.get("/inventory?sku=PROD-001", &app.packer).await;
    assert_eq!(
        levels.body["data"][0]["allocated"], 1,
        "the packed order holds its units"
    );

    let path = format!("/api/acme/orders/{id}/operations");
    let body = r#"{"action":"ship","service":"ground"}"#;
    let h = [
        ("idempotency-key", "ship-1"),
        ("content-type", "application/json"),
    ];
    let first = app
        .raw(Method::POST, &path, Some(&app.packer), body, &h)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let data = &first.body["data"];
    let shipment = data["shipment"]["id"].as_str().unwrap().to_owned();
    let tracking = data["shipment"]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        TrackingNumber::parse(&tracking).unwrap().check_digit_ok(),
        "{tracking}"
    );
    let label_url = format!("/api/acme/labels/{shipment}/png");
    let expected = json!({"data": {"order_id": id, "status": "shipped", "shipment": {
        "id": shipment, "tracking_number": tracking, "carrier": "ups", "service": "ground",
        "label_url": label_url, "estimated_delivery": "2026-02-26"}}});
    assert_eq!(first.body, expected, "exactly the seed's answer");
    let retry = app
        .raw(Method::POST, &path, Some(&app.packer), body, &h)
        .await;
    assert_eq!(retry.bytes, first.bytes, "a retry gets the first shipment");
    let click = app
        .operate(
            id,
            &app.packer,
            json!({"action": "ship", "service": "ground"}),
        )
        .await;
    assert_eq!(
        click.status, 409,
        "a second click on a shipped order buys nothing: {}",
        click.body
    );
    assert_eq!(
        carrier.bought.load(Ordering::SeqCst),
        1,
        "one package, one label"
    );

    let levels = app.get("/inventory?sku=PROD-001", &app.packer).await;
    let on_hand: Vec<i64> = levels.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["on_hand"].as_i64().unwrap())
        .collect();
    assert_eq!(on_hand, vec![0, 3], "A-2 emptied first, then 2 from A-10");
    let zpl = app
        .raw(
            Method::GET,
            &format!("/api/acme/labels/{shipment}/zpl"),
            Some(&app.packer),
            "",
            &[],
        )
        .await;
    assert_eq!(zpl.status, 200);
    assert!(String::from_utf8_lossy(&zpl.bytes).starts_with("^XA"));
    let png = app
        .raw(
            Method::GET,
            &format!("/api/acme/labels/{shipment}/png"),
            Some(&app.packer),
            "",
            &[],
        )
        .await;
    // A label of native ZPL commands is drawn for the preview.
    assert_eq!(png.status, 200, "{}", png.body);
    assert_eq!(png.headers["content-type"], "image/png");
    assert!(png.bytes.starts_with(b"\x89PNG"));

    let void = app.operate(id, &app.admin, json!({"action": "void"})).await;
    assert_eq!(void.body["data"]["status"], "packed", "{}", void.body);
    assert_eq!(carrier.voided.load(Ordering::SeqCst), 1);
    let levels = app.get("/inventory?sku=PROD-001", &app.packer).await;
    let on_hand: Vec<i64> = levels.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["on_hand"].as_i64().unwrap())
        .collect();
    assert_eq!(
        on_hand,
        vec![1, 5],
        "the void gave back exactly what the ship took"
    );
    let s = app
        .get(&format!("/shipments/{shipment}"), &app.packer)
        .await;
    assert_eq!(s.body["data"]["status"], "voided");
    let causes: Vec<String> = app.get("/inventory/events", &app.packer).await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cause"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        causes,
        [
            "adjustment",
            "adjustment",
            "shipped",
            "shipped",
            "voided",
            "voided"
        ]
    );

    // A manual label to a typed address; a bad address is the carrier's clear refusal.
    let manual = json!({"service": "2day", "package": {"weight": 1}, "ship_to": {"name": "Bo", "lines": ["2 Side St"], "city": "Austin", "country": "US"}});
    let r = app.post("/shipments", &app.packer, manual).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let bad = app
        .post(
            "/shipments",
            &app.packer,
            json!({"service": "2day", "package": {"weight": 1}, "ship_to": {"name": "Bo"}}),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.code()),
        (422, "carrier_rejected"),
        "{}",
        bad.body
    );
    let failed = app.get("/shipments?status=failed", &app.packer).await;
    assert_eq!(
        failed.body["data"].as_array().unwrap().len(),
        1,
        "the refused attempt is on record"
    );

    // Cancelling an open order releases what it held.
    let other = app.order(&app.acme, "#2", 1, &[("PROD-001", 2)]).await;
    assert_eq!(
        app.get("/inventory?sku=PROD-001", &app.packer).await.body["data"][0]["allocated"],
        1
    );
    app.operate(
        other.id().as_str(),
        &app.admin,
        json!({"action": "cancel", "reason": "fraud check"}),
    )
    .await;
    let total: i64 = app.get("/inventory?sku=PROD-001", &app.packer).await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["allocated"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 3, "only the packed order #1 still holds stock");
}

//! The UPS client: on UPS's recorded answers (specs/ups/examples), its requests checked against
//! the official schemas, and end to end against the UPS sim on loopback.

use packbench_core::ports::{Clock, SystemClock};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use packbench_core::domain::{
    DimensionUnit, Dimensions, Package, ServiceCode, TrackingNumber, Weight, WeightUnit,
};
use packbench_core::model::{Address, LabelFormat, Shipment, ShipmentStatus};
use packbench_core::ports::{Carrier, CarrierError, LabelRequest, TrackingKind};
use packbench_core::settings::{Shipper, ShipperAddress};
use packbench_openapi::{Spec, unknown_fields};
use packbench_sim::{UpsSim, UpsSimConfig};
use packbench_ups::{
    ShipperAccount, UpsCarrier, UpsClient, UpsConfig, UpsError, request, tracking, wire,
};
use serde_json::Value;

fn example(name: &str) -> Value {
    let path: PathBuf = packbench_openapi::specs_dir()
        .join("ups/examples")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn account(number: &str) -> ShipperAccount {
    ShipperAccount {
        number: number.into(),
        shipper: Shipper {
            name: Some("Acme Fulfilment With A Very Long Company Name Indeed".into()),
            attention: Some("Shipping desk".into()),
            phone: Some("+1 (212) 555-0100 ext. 1234".into()),
            email: Some("ship@acme.invalid".into()),
            address: ShipperAddress {
                lines: vec!["450 W 33rd St".into(), "Floor 5".into()],
                city: Some("New York".into()),
                state: Some("NY".into()),
                postal_code: Some("10001".into()),
                country: Some("US".into()),
            },
        },
    }
}

fn ship_to() -> Address {
    Address {
        name: Some("Ada Lovelace".into()),
        company: None,
        lines: vec!["12 Analytical Engine Way".into()],
        city: Some("Austin".into()),
        state: Some("tx".into()),
        postal_code: Some("73301-0001".into()),
        country: Some("US".into()),
        phone: Some("(512) 555-0199".into()),
    }
}

fn package() -> Package {
    Package {
        weight: Weight::new(2.3, WeightUnit::Lb).unwrap(),
        dimensions: Some(Dimensions::new(10.5, 8.0, 4.0, DimensionUnit::In).unwrap()),
        r#box: None,
    }
}

// ---- recorded answers ----

#[test]
fn every_recorded_answer_parses() {
    let ship: wire::ShipResponseWrapper =
        serde_json::from_value(example("ship_response_single_package_gif.upsdoc.json")).unwrap();
    let p = packbench_ups::purchase_from(&ship.shipment_response).unwrap();
    assert_eq!(p.tracking_number.as_str(), "1ZWA82900123277535");
    assert_eq!(p.label_format, LabelFormat::Gif);
    assert!(p.label.starts_with(b"GIF89a"));

    // v2205: two packages, charges as objects; numbers masked by the recorder.
    let two: wire::ShipResponseWrapper =
        serde_json::from_value(example("ship_response_v2205_two_packages_gif.cie.json")).unwrap();
    assert_eq!(
        two.shipment_response
            .shipment_results
            .package_results
            .0
            .len(),
        2
    );

    let rec: wire::RecoveryResponseWrapper =
        serde_json::from_value(example("label_recovery_response_zpl.upsdoc.json")).unwrap();
    let label = rec.label_recovery_response.label_results.first().unwrap();
    assert_eq!(
        label.label_image.label_image_format.code, "zpl",
        "lower case, as UPS sends it"
    );

    let void: wire::VoidResponseWrapper =
        serde_json::from_value(example("void_response_success.cie.json")).unwrap();
    assert_eq!(void.void_shipment_response.summary_result.status.code, "1");

    for f in [
        "rate_shop_response.upsdoc.json",
        "rate_shop_response_v2205.cie.json",
    ] {
        let r: wire::RateResponseWrapper = serde_json::from_value(example(f)).unwrap();
        assert!(!r.rate_response.rated_shipment.0.is_empty(), "{f}");
    }
    for f in [
        "oauth_token_response.cie.json",
        "oauth_token_response.upsdoc.json",
    ] {
        let t: wire::TokenResponse = serde_json::from_value(example(f)).unwrap();
        assert!(
            t.expires_in > 3600,
            "{f}: expires_in is a string of seconds"
        );
    }
    for f in [
        "error_rate_invalid_shipper_number_400.cie.json",
        "error_service_unavailable_503.cie.json",
        "error_ship_missing_shipto_address_400.cie.json",
        "error_void_outside_void_period_400.cie.json",
        "track_error_invalid_inquiry_number.json",
    ] {
        let e: wire::ErrorBody = serde_json::from_value(example(f)).unwrap();
        assert!(!e.response.errors.first().unwrap().code.is_empty(), "{f}");
    }
}

#[test]
fn recorded_tracking_maps_onto_events_oldest_first() {
    let delivered: wire::TrackResponseWrapper =
        serde_json::from_value(example("track_response_delivered.upsdoc.json")).unwrap();
    let r = tracking::report(&delivered.track_response);
    assert_eq!(r.events.last().unwrap().kind, TrackingKind::Delivered);
    assert_eq!(r.events.first().unwrap().kind, TrackingKind::LabelCreated);

    let transit: wire::TrackResponseWrapper =
        serde_json::from_value(example("track_response_in_transit_exception.json")).unwrap();
    let r = tracking::report(&transit.track_response);
    let kinds: Vec<TrackingKind> = r.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&TrackingKind::Exception));
    assert!(
        kinds.contains(&TrackingKind::PickedUp),
        "P is tolerated: {kinds:?}"
    );
    assert!(r.events.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(r.events.iter().all(|e| !e.description.ends_with(' ')));

    let missing: wire::TrackResponseWrapper =
        serde_json::from_value(example("track_response_not_found_warning.json")).unwrap();
    assert!(tracking::report(&missing.track_response).events.is_empty());
    assert_eq!(
        tracking::kind("ZZ"),
        TrackingKind::Unknown,
        "unknown types never fail"
    );
}

// ---- requests against the official schemas ----

fn assert_valid(file: &str, schema: &str, body: &Value) {
    let spec = Spec::ups(file).unwrap();
    let s = spec.schema(schema).unwrap();
    assert_eq!(s.violations(body), vec![], "{schema}: {body:#}");
    assert_eq!(
        unknown_fields(&spec, schema, body),
        Vec::<String>::new(),
        "{schema}"
    );
}

#[test]
fn every_request_the_client_builds_is_valid_against_the_official_schema() {
    let account = account("SIM001");
    let to = ship_to();
    let pkg = package();
    for (service, format) in [
        (ServiceCode::Ground, LabelFormat::Zpl),
        (ServiceCode::ThreeDay, LabelFormat::Gif),
        (ServiceCode::TwoDay, LabelFormat::Zpl),
        (ServiceCode::NextDay, LabelFormat::Gif),
    ] {
        let body = request::ship(&request::ShipInput {
            account: &account,
            ship_to: &to,
            service,
            packages: &[&pkg],
            reference: "01JD0000000000000000000000",
            order_name: Some("#1001"),
            label_format: format,
        });
        assert_valid("Shipping.yaml", "SHIPRequestWrapper", &body);
        let s = &body["ShipmentRequest"]["Shipment"];
        assert_eq!(s["Service"]["Code"], service.ups_code());
        assert_eq!(
            s["Shipper"]["Phone"]["Number"].as_str().unwrap().len(),
            15,
            "cut to 15"
        );
        assert_eq!(s["Shipper"]["Name"].as_str().unwrap().chars().count(), 35);
        assert_eq!(s["Package"][0]["PackageWeight"]["Weight"], "2.3");
        assert_eq!(
            s["Package"][0]["Dimensions"]["Length"], "11",
            "whole inches, up"
        );
        assert_eq!(s["ShipTo"]["Address"]["StateProvinceCode"], "TX");
        assert_eq!(s["ShipTo"]["Address"]["PostalCode"], "733010001");
    }
    // Several boxes: one shipment of as many packages, each with its weight and references.
    let heavy = packbench_core::domain::Package {
        weight: packbench_core::domain::Weight::new(31.0, packbench_core::domain::WeightUnit::Lb)
            .unwrap(),
        dimensions: None,
        r#box: Some("L".into()),
    };
    let body = request::ship(&request::ShipInput {
        account: &account,
        ship_to: &to,
        service: ServiceCode::Ground,
        packages: &[&pkg, &heavy, &pkg],
        reference: "01JD0000000000000000000000",
        order_name: Some("#1001"),
        label_format: LabelFormat::Zpl,
    });
    assert_valid("Shipping.yaml", "SHIPRequestWrapper", &body);
    let packages = body["ShipmentRequest"]["Shipment"]["Package"]
        .as_array()
        .unwrap();
    assert_eq!(packages.len(), 3);
    assert_eq!(packages[1]["PackageWeight"]["Weight"], "31.0");
    assert!(
        packages
            .iter()
            .all(|p| p["ReferenceNumber"][0]["Value"] == "01JD0000000000000000000000")
    );
    let recovery = request::recovery("1Z999AA10123456784", "ZPL");
    let spec = Spec::ups("Shipping.yaml")
        .unwrap()
        .relax_required("LabelRecoveryRequest", "TrackingNumbers")
        .relax_required("LabelRecoveryRequest", "ReferenceValues");
    let v = spec
        .schema("LABELRECOVERYRequestWrapper")
        .unwrap()
        .violations(&recovery);
    assert!(
        v.iter().all(|v| v.at.ends_with("/LabelImageFormat/Code")),
        "only the spec's own minLength-4 contradiction remains: {v:?}"
    );
    assert_valid(
        "Rating.yaml",
        "RATERequestWrapper",
        &request::rate_shop(&account, &to, &pkg),
    );
    assert_valid(
        "AddressValidation.yaml",
        "XAVRequestWrapper",
        &request::validate_address(&to),
    );
}

// ---- against the sim ----

async fn sim(config: UpsSimConfig) -> (Arc<UpsSim>, String) {
    let sim = UpsSim::new(config).unwrap();
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    (sim, format!("http://{addr}"))
}

fn client(base: &str, sim: &UpsSim, timeout: Duration) -> Arc<UpsClient> {
    let c = sim.config();
    Arc::new(
        UpsClient::new(UpsConfig {
            base_url: base.into(),
            client_id: c.client_id,
            client_secret: c.client_secret,
            account_number: Some(c.account_number),
            transaction_src: "packbench-tests".into(),
            timeout,
        })
        .unwrap(),
    )
}

fn shipment(id: &str, tracking: Option<&str>) -> Shipment {
    let now = SystemClock.now();
    Shipment {
        id: packbench_core::domain::ShipmentId::parse(id).unwrap(),
        order_id: None,
        status: ShipmentStatus::Created,
        carrier: "ups".into(),
        service: ServiceCode::Ground,
        tracking_number: tracking.map(|t| TrackingNumber::parse(t).unwrap()),
        estimated_delivery: None,
        package: package(),
        ship_to: Some(ship_to()),
        created_at: now,
        updated_at: now,
        boxed_at: None,
        more_packages: Vec::new(),
    }
}

fn request(id: &packbench_core::domain::ShipmentId) -> LabelRequest {
    LabelRequest {
        shipment_id: id.clone(),
        order_name: Some("#1001".into()),
        service: ServiceCode::Ground,
        package: package(),
        more_packages: Vec::new(),
        ship_to: ship_to(),
    }
}

/// Every bar code on a label image, read by a real decoder.
fn read_barcodes(png: &[u8]) -> Vec<String> {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let (w, h) = img.dimensions();
    rxing::helpers::detect_multiple_in_luma(img.into_raw(), w, h)
        .unwrap_or_default()
        .iter()
        .map(|r| r.getText().to_string())
        .collect()
}

/// The Code 128 on a label image (the sim prints one).
fn read_barcode(png: &[u8]) -> String {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let (w, h) = img.dimensions();
    rxing::helpers::detect_in_luma(img.into_raw(), w, h, Some(rxing::BarcodeFormat::CODE_128))
        .unwrap()
        .getText()
        .to_string()
}

#[tokio::test]
async fn a_label_is_bought_read_back_recovered_and_voided() {
    let (sim, base) = sim(UpsSimConfig::default()).await;
    let client = client(&base, &sim, Duration::from_secs(5));
    let zpl = UpsCarrier::new(client.clone(), account("SIM001"), LabelFormat::Zpl);
    let gif = UpsCarrier::new(client.clone(), account("SIM001"), LabelFormat::Gif);
    let id = packbench_core::domain::ShipmentId::generate();

    let bought = zpl.buy_label(&request(&id)).await.unwrap();
    assert!(
        bought.tracking_number.check_digit_ok(),
        "{:?}",
        bought.tracking_number
    );
    assert_eq!(bought.label_format, LabelFormat::Zpl);
    let text = String::from_utf8(bought.label.clone()).unwrap();
    let png = packbench_labels::convert::zpl_to_png(&text).unwrap();
    if let Some(dir) = std::env::var_os("PACKBENCH_KEEP_LABELS") {
        std::fs::write(PathBuf::from(dir).join("sim-zpl.png"), &png).unwrap();
    }
    assert_eq!(
        read_barcode(&png),
        bought.tracking_number.as_str(),
        "the label carries its number"
    );

    let other = gif
        .buy_label(&request(&packbench_core::domain::ShipmentId::generate()))
        .await
        .unwrap();
    assert_eq!(other.label_format, LabelFormat::Gif);
    let png = packbench_labels::convert::image_to_png(&other.label).unwrap();
    assert_eq!(
        read_barcode(&png),
        other.tracking_number.as_str(),
        "the GIF comes back upright"
    );
    assert_eq!(sim.token_calls(), 1, "one token for every call");

    // Reprint without the local copy, and a lost answer found by our reference.
    let mut s = shipment(id.as_str(), Some(bought.tracking_number.as_str()));
    let (format, again) = zpl.recover_label(&s).await.unwrap();
    assert_eq!(format, LabelFormat::Zpl);
    assert_eq!(again, bought.label);
    let found = zpl.find_lost_label(&s).await.unwrap().unwrap();
    assert_eq!(found.tracking_number, bought.tracking_number);
    let nobody = shipment(
        packbench_core::domain::ShipmentId::generate().as_str(),
        None,
    );
    assert!(zpl.find_lost_label(&nobody).await.unwrap().is_none());

    // Void twice: UPS says "voided or already voided" both times; tracking shows MV.
    zpl.void_label(&s).await.unwrap();
    zpl.void_label(&s).await.unwrap();
    let t = zpl.track(&s).await.unwrap();
    assert_eq!(t.events.last().unwrap().kind, TrackingKind::Voided);
    s.tracking_number = Some(TrackingNumber::parse("1Z999AA10123456784").unwrap());
    match zpl.void_label(&s).await {
        Err(CarrierError::Rejected { code, .. }) => assert_eq!(code, "190102"),
        other => panic!("a label UPS never sold cannot be voided: {other:?}"),
    }
}

/// Several boxes go as one UPS shipment: a tracking number and a label for each, the first
/// number the shipment's, and a void of that number voids them all.
#[tokio::test]
async fn several_boxes_are_one_shipment_with_a_label_each() {
    let (sim, base) = sim(UpsSimConfig::default()).await;
    let client = client(&base, &sim, Duration::from_secs(5));
    let ups = UpsCarrier::new(client, account("SIM001"), LabelFormat::Zpl);
    let id = packbench_core::domain::ShipmentId::generate();
    let mut r = request(&id);
    r.more_packages = vec![package(), package()];
    let bought = ups.buy_label(&r).await.unwrap();
    assert_eq!(bought.more_packages.len(), 2);
    let mut numbers = vec![bought.tracking_number.clone()];
    numbers.extend(
        bought
            .more_packages
            .iter()
            .map(|p| p.tracking_number.clone()),
    );
    let unique: std::collections::HashSet<&str> =
        numbers.iter().map(TrackingNumber::as_str).collect();
    assert_eq!(unique.len(), 3, "a tracking number per box: {numbers:?}");
    assert!(numbers.iter().all(TrackingNumber::check_digit_ok));
    for p in &bought.more_packages {
        let png =
            packbench_labels::convert::zpl_to_png(&String::from_utf8(p.label.clone()).unwrap())
                .unwrap();
        assert_eq!(
            read_barcode(&png),
            p.tracking_number.as_str(),
            "each label its own number"
        );
    }
    let sold = sim.shipments();
    assert_eq!(sold.len(), 3);
    assert!(
        sold.iter()
            .all(|s| s.shipment_number == bought.tracking_number.as_str())
    );
    assert_eq!(sim.ship_calls(), 1, "one request for the three");

    // A lost answer is found whole by its reference: every box, each with its label.
    let lost = shipment(id.as_str(), None);
    let found = ups.find_lost_label(&lost).await.unwrap().unwrap();
    assert_eq!(found.tracking_number, bought.tracking_number);
    assert_eq!(found.more_packages, bought.more_packages);

    ups.void_label(&shipment(
        id.as_str(),
        Some(bought.tracking_number.as_str()),
    ))
    .await
    .unwrap();
    assert!(
        sim.shipments().iter().all(|s| s.voided),
        "the whole shipment is voided"
    );
}

#[tokio::test]
async fn ship_is_never_repeated_once_ups_may_have_acted() {
    let (sim, base) = sim(UpsSimConfig::default()).await;
    let client = client(&base, &sim, Duration::from_millis(800));
    let carrier = UpsCarrier::new(client.clone(), account("SIM001"), LabelFormat::Zpl);

    // Accepted, then the answer is lost: Unconfirmed, and exactly one call went out.
    sim.configure(|c| {
        c.accept_then_timeout_next = 1;
        c.hang_ms = 3_000;
    });
    let id = packbench_core::domain::ShipmentId::generate();
    match carrier.buy_label(&request(&id)).await {
        Err(CarrierError::Unconfirmed { .. }) => {}
        other => panic!("a timeout after sending is unconfirmed: {other:?}"),
    }
    assert_eq!(sim.ship_calls(), 1);
    assert_eq!(sim.shipments().len(), 1, "UPS did sell it");

    // 429: provably not processed, so the client backs off and tries again.
    sim.configure(|c| c.throttle_next = 1);
    let ok = carrier
        .buy_label(&request(&packbench_core::domain::ShipmentId::generate()))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(
        sim.ship_calls(),
        2,
        "the 429 is refused before the ship handler runs"
    );

    // A 503 to a ship call: from the gateway or from behind it, we cannot tell, so it is
    // unconfirmed (reconciled, never repeated) and the call was made once.
    sim.configure(|c| c.unavailable_next = 1);
    let calls = sim.ship_calls();
    match carrier
        .buy_label(&request(&packbench_core::domain::ShipmentId::generate()))
        .await
    {
        Err(CarrierError::Unconfirmed { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(sim.ship_calls() <= calls + 1, "never repeated");

    // An expired token is renewed once, and the call goes through.
    sim.expire_tokens();
    let before = sim.token_calls();
    let t = carrier
        .track(&shipment(
            id.as_str(),
            Some(sim.shipments()[0].tracking_number.as_str()),
        ))
        .await;
    assert!(t.is_ok(), "{t:?}");
    assert_eq!(sim.token_calls(), before + 1);

    // Wrong credentials: a clear refusal naming what to check.
    let bad = Arc::new(
        UpsClient::new(UpsConfig {
            base_url: base.clone(),
            client_id: "nobody".into(),
            client_secret: "wrong".into(),
            account_number: None,
            transaction_src: "t".into(),
            timeout: Duration::from_secs(2),
        })
        .unwrap(),
    );
    match bad.track("1Z999AA10123456784").await {
        Err(UpsError::Auth { code, .. }) => assert_eq!(code, "10401"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_requests_come_back_as_ups_refusals_with_the_code() {
    let (sim, base) = sim(UpsSimConfig::default()).await;
    let client = client(&base, &sim, Duration::from_secs(5));
    let wrong = UpsCarrier::new(client.clone(), account("NOPE01"), LabelFormat::Zpl);
    let id = packbench_core::domain::ShipmentId::generate();
    match wrong.buy_label(&request(&id)).await {
        Err(CarrierError::Rejected { code, .. }) => assert_eq!(code, "120100"),
        other => panic!("{other:?}"),
    }
    let carrier = UpsCarrier::new(client, account("SIM001"), LabelFormat::Zpl);
    let mut r = request(&id);
    r.ship_to.lines.clear();
    match carrier.buy_label(&r).await {
        Err(CarrierError::Rejected { code, message, .. }) => {
            assert_eq!(code, "120202");
            assert!(message.contains("address line"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(sim.shipments().is_empty(), "nothing sold");
}

#[tokio::test]
async fn tracking_moves_from_label_to_delivered_and_rates_and_addresses_answer() {
    let (sim, base) = sim(UpsSimConfig {
        transit_secs: 1,
        ..UpsSimConfig::default()
    })
    .await;
    let carrier = UpsCarrier::new(
        client(&base, &sim, Duration::from_secs(5)),
        account("SIM001"),
        LabelFormat::Zpl,
    );
    let id = packbench_core::domain::ShipmentId::generate();
    let bought = carrier.buy_label(&request(&id)).await.unwrap();
    let s = shipment(id.as_str(), Some(bought.tracking_number.as_str()));
    let early = carrier.track(&s).await.unwrap();
    assert_eq!(
        early.events.last().unwrap().kind,
        TrackingKind::LabelCreated
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let late = carrier.track(&s).await.unwrap();
    let kinds: Vec<TrackingKind> = late.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            TrackingKind::LabelCreated,
            TrackingKind::PickedUp,
            TrackingKind::InTransit,
            TrackingKind::Delivered
        ]
    );
    assert_eq!(
        late.events.last().unwrap().location.as_deref(),
        Some("Austin, US")
    );

    let rates = carrier.rates(&ship_to(), &package()).await.unwrap();
    assert_eq!(rates.len(), 4);
    assert!(
        rates
            .iter()
            .all(|r| r.currency == "USD" && r.amount.parse::<f64>().unwrap() > 0.0)
    );
    let check = carrier.check_address(&ship_to()).await.unwrap();
    assert_eq!(check.verdict, "valid");
    let mut nowhere = ship_to();
    nowhere.postal_code = Some("00000".into());
    assert_eq!(
        carrier.check_address(&nowhere).await.unwrap().verdict,
        "not_found"
    );
    let mut abroad = ship_to();
    abroad.country = Some("DE".into());
    assert_eq!(
        carrier.check_address(&abroad).await.unwrap().verdict,
        "not_checked"
    );
}

#[test]
fn ups_own_gif_label_turns_into_an_upright_4x6_png() {
    let ship: wire::ShipResponseWrapper =
        serde_json::from_value(example("ship_response_single_package_gif.upsdoc.json")).unwrap();
    let p = packbench_ups::purchase_from(&ship.shipment_response).unwrap();
    let png = packbench_labels::convert::image_to_png(&p.label).unwrap();
    if let Some(dir) = std::env::var_os("PACKBENCH_KEEP_LABELS") {
        std::fs::write(PathBuf::from(dir).join("ups-example.png"), &png).unwrap();
    }
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (812, 1218));
    let codes = read_barcodes(&png);
    assert!(
        codes.iter().any(|c| c == "1ZWA82900123277535"),
        "UPS's own tracking bar code reads upright: {codes:?}"
    );
}

#[test]
fn ups_own_zpl_label_previews_with_a_readable_tracking_bar_code() {
    let rec: wire::RecoveryResponseWrapper =
        serde_json::from_value(example("label_recovery_response_zpl.upsdoc.json")).unwrap();
    let image = &rec
        .label_recovery_response
        .label_results
        .first()
        .unwrap()
        .label_image;
    let zpl = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        image.graphic_image.trim(),
    )
    .unwrap();
    let png = packbench_labels::convert::zpl_to_png(&String::from_utf8_lossy(&zpl)).unwrap();
    if let Some(dir) = std::env::var_os("PACKBENCH_KEEP_LABELS") {
        std::fs::write(PathBuf::from(dir).join("ups-zpl.png"), &png).unwrap();
    }
    let codes = read_barcodes(&png);
    assert!(
        codes.iter().any(|c| c == "1Z2866YYYZ29803881"),
        "the 1Z bar code of UPS's native ZPL reads back: {codes:?}"
    );
}

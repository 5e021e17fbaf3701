//! The services called directly, without HTTP: two hubs (two `Fulfillment`s) over one real
//! database, the real UPS client against the UPS sim on loopback, and a `ManualClock` that the
//! test moves past a lease, a lookup lag or an idempotency key's limit instead of waiting for
//! them. Each test runs on SQLite and, when a server is set up, on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use packbench_core::domain::{
    OrderId, Package, Quantity, Role, ServiceCode, TenantId, Weight, WeightUnit,
};
use packbench_core::model::{Actor, IdempotencyStart, Tenant};
use packbench_core::ports::{Clock, ManualClock, NoShops, Store};
use packbench_core::service::Operation;
use packbench_core::workflow::PickItem;
use packbench_core::{Error, workflow::Refusal};
use packbench_server::{AppState, demo};
use packbench_sim::{UpsSim, UpsSimConfig};
use packbench_store::SqlStore;

/// A hub's services over `store` on `clock`, with the real UPS client.
fn hub(store: &Arc<dyn Store>, clock: &Arc<ManualClock>) -> AppState {
    let carriers = Arc::new(packbench_ups::UpsAccounts::new(
        store.clone(),
        Duration::from_secs(5),
    ));
    AppState::with(store.clone(), carriers, Arc::new(NoShops), clock.clone())
}

struct Bench {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    a: AppState,
    b: AppState,
    tenant: Tenant,
    ups: Arc<UpsSim>,
    /// The packer, as the services see a logged-in user.
    packer: Actor,
}

async fn bench(url: &str) -> Bench {
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::connect(url)
            .await
            .expect("database")
            .with_secret_key(packbench_store::SecretKey::generate()),
    );
    let clock = Arc::new(ManualClock::at(packbench_core::ports::SystemClock.now()));
    let (a, b) = (hub(&store, &clock), hub(&store, &clock));
    let (tenant, _) = demo::prepare(&a.fulfillment).await.expect("demo tenant");
    let ups = UpsSim::new(UpsSimConfig::default()).expect("UPS sim");
    demo::connect_ups_sim(&a, &tenant, &ups)
        .await
        .expect("UPS connected");
    let user = a
        .fulfillment
        .set_user(&tenant.id, "ann", Role::Operator, "a long password")
        .await
        .expect("a packer");
    let packer = Actor {
        user_id: Some(user.id),
        station_id: Some("bench-1".into()),
    };
    Bench {
        packer,
        store,
        clock,
        a,
        b,
        tenant,
        ups,
    }
}

/// An order of the demo catalogue taken to `packed` through hub A's services.
async fn packed(bench: &Bench, i: u64) -> OrderId {
    let f = &bench.a.fulfillment;
    let t = &bench.tenant.id;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(i);
    let now = bench.clock.now();
    let mut new = demo::sample_order(i, now, &mut rng);
    new.shop_order_id = Some(format!("{}", 5000 + i));
    let order = bench.store.insert_order(t, &new, now).await.expect("order");
    let id = order.id().clone();
    let items = order
        .lines()
        .iter()
        .map(|l| PickItem {
            sku: Some(l.sku.clone()),
            barcode: None,
            quantity: Quantity::new(i64::from(l.quantity)).unwrap(),
        })
        .collect();
    let admin = bench.packer.clone();
    f.operate(t, &id, Operation::Assign { user: None }, &admin)
        .await
        .expect("assign");
    f.operate(t, &id, Operation::Pick { items }, &admin)
        .await
        .expect("pick");
    let package = Package {
        weight: Weight::new(2.5, WeightUnit::Lb).unwrap(),
        dimensions: None,
        r#box: None,
    };
    f.operate(
        t,
        &id,
        Operation::Pack {
            package,
            more_boxes: Vec::new(),
            weigh_in: Default::default(),
        },
        &admin,
    )
    .await
    .expect("pack");
    id
}

fn ship() -> Operation {
    Operation::Ship {
        service: ServiceCode::parse("ground").unwrap(),
        package: None,
        weigh_in: Default::default(),
    }
}

fn live_labels(ups: &UpsSim) -> usize {
    ups.shipments().iter().filter(|s| !s.voided).count()
}

async fn operate_ship_and_void_through_the_services(url: String) {
    let bench = bench(&url).await;
    let id = packed(&bench, 1).await;
    let (f, t, admin) = (&bench.a.fulfillment, &bench.tenant.id, bench.packer.clone());
    let shipped = f.operate(t, &id, ship(), &admin).await.expect("ship");
    let shipment = shipped.shipment.expect("a shipment");
    assert!(shipment.tracking_number.is_some());
    assert_eq!(live_labels(&bench.ups), 1);
    // Hub B sees the order shipped: a second ship buys nothing.
    let again = bench.b.fulfillment.operate(t, &id, ship(), &admin).await;
    assert!(
        matches!(
            again,
            Err(Error::Refused(Refusal::InvalidTransition { .. }))
        ),
        "{again:?}"
    );
    let voided = f
        .operate(t, &id, Operation::Void, &admin)
        .await
        .expect("void");
    assert_eq!(voided.order.status().as_str(), "packed");
    assert_eq!(live_labels(&bench.ups), 0, "voided at UPS");
    assert_eq!(bench.ups.shipments().len(), 1, "and only one ever bought");
}

/// Hub A stops right after reserving the order's label (held at the `reserved` step, before
/// UPS is called). Hub B answers `label_in_progress` while the lease runs, "not confirmed
/// yet" while UPS's lookup may still lag, then releases the reservation and ships with one
/// label: all on a clock moved by the test, with no waiting.
async fn an_abandoned_purchase_is_settled_as_the_clock_moves(url: String) {
    let bench = bench(&url).await;
    let id = packed(&bench, 2).await;
    let t = bench.tenant.id.clone();
    let point = format!("label::reserved::{t}");
    fail::cfg(&point, "return(hold)").unwrap();
    let held = {
        let a = Arc::new(hub(&bench.store, &bench.clock));
        let (t, id, packer) = (t.clone(), id.clone(), bench.packer.clone());
        tokio::spawn(async move {
            let _ = a.fulfillment.operate(&t, &id, ship(), &packer).await;
        })
    };
    wait_until_reserved(&bench.store, &t, &id).await;
    fail::remove(&point);

    let b = &bench.b.fulfillment;
    let admin = bench.packer.clone();
    let r = b.operate(&t, &id, ship(), &admin).await;
    assert!(
        matches!(r, Err(Error::Refused(Refusal::LabelInProgress { .. }))),
        "within the lease: {r:?}"
    );
    bench.clock.advance(chrono::Duration::minutes(3));
    let r = b.operate(&t, &id, ship(), &admin).await;
    let message = format!("{:?}", r.as_ref().err());
    assert!(
        message.contains("not confirmed yet"),
        "past the lease, the lookup may still lag: {message}"
    );
    bench.clock.advance(chrono::Duration::minutes(8));
    let shipped = b.operate(&t, &id, ship(), &admin).await.expect("ship");
    assert!(shipped.shipment.is_some());
    assert_eq!(live_labels(&bench.ups), 1, "one label, bought once");
    held.abort();
}

async fn wait_until_reserved(store: &Arc<dyn Store>, t: &TenantId, id: &OrderId) {
    for _ in 0..200 {
        if store.orders_labeling(t).await.unwrap().contains(id) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the order was never reserved");
}

/// A request that started under a key and never finished (the hub stopped) is "in progress"
/// for a while, then "interrupted", never run again under that key.
async fn an_unfinished_idempotent_request_is_said_interrupted_later(url: String) {
    let bench = bench(&url).await;
    let f = &bench.a.fulfillment;
    let t = &bench.tenant.id;
    let user = bench.packer.user_id.clone().unwrap();
    let start = || f.idempotency_start(t, "key-1", &user, "fingerprint");
    assert_eq!(start().await.unwrap(), IdempotencyStart::Proceed);
    assert_eq!(start().await.unwrap(), IdempotencyStart::InProgress);
    bench.clock.advance(
        packbench_core::model::UNFINISHED_REQUEST_INTERRUPTED_AFTER + chrono::Duration::seconds(1),
    );
    assert!(
        matches!(start().await.unwrap(), IdempotencyStart::Interrupted { .. }),
        "past the limit, the first run is taken as cut short"
    );
    // Another key is not affected; a finished one replays its answer.
    assert_eq!(
        f.idempotency_start(t, "key-2", &user, "fp").await.unwrap(),
        IdempotencyStart::Proceed
    );
    f.idempotency_finish(t, "key-2", 200, b"{\"ok\":true}")
        .await
        .unwrap();
    assert!(matches!(
        f.idempotency_start(t, "key-2", &user, "fp").await.unwrap(),
        IdempotencyStart::Replay { status: 200, .. }
    ));
}

/// A redaction waits for an order the bench is not done with, but not past Shopify's window:
/// at `REDACTION_WAITS_AT_MOST` the order's customer details are erased anyway and the
/// request is closed, saying which orders were erased unfinished.
async fn a_redaction_waits_for_the_bench_but_not_past_its_deadline(url: String) {
    use packbench_core::service::REDACTION_WAITS_AT_MOST;
    let bench = bench(&url).await;
    let f = &bench.a.fulfillment;
    let t = &bench.tenant.id;
    let now = bench.clock.now();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(9);
    let mut new = demo::sample_order(9, now, &mut rng);
    new.shop_order_id = Some("4401".into());
    let order = bench.store.insert_order(t, &new, now).await.expect("order");
    let body = br#"{"shop_id": 1, "shop_domain": "packbench-demo.myshopify.com",
        "customer": {"id": 7}, "orders_to_redact": [4401]}"#;
    assert!(
        f.receive_webhook(t, "w-redact", "customers/redact", body)
            .await
            .unwrap()
    );
    f.process_inbox(t).await.unwrap();
    let request = || async { f.privacy_requests(t).await.unwrap().remove(0) };
    let r = request().await;
    assert!(
        r.completed_at.is_none(),
        "waits while the order is at the bench"
    );
    assert_eq!(
        r.result.unwrap()["waiting"],
        serde_json::json!([order.name])
    );

    bench
        .clock
        .advance(REDACTION_WAITS_AT_MOST - chrono::Duration::hours(1));
    f.apply_privacy_requests(t).await.unwrap();
    assert!(request().await.completed_at.is_none(), "within its window");
    bench.clock.advance(chrono::Duration::hours(1));
    assert_eq!(f.apply_privacy_requests(t).await.unwrap(), 1);
    let r = request().await;
    assert!(r.completed_at.is_some(), "closed at the deadline");
    assert_eq!(
        r.result.unwrap()["erased_at_deadline"],
        serde_json::json!([order.name])
    );
    let erased = f.order_detail(t, order.id()).await.unwrap().order;
    assert!(erased.ship_to.is_none());
    assert_ne!(erased.customer_name, new.customer_name);
}

/// Once a redaction has erased a shipped order's customer details, none are left behind: its
/// label is not fetched again from UPS (the carrier's copy holds the address), and a replay
/// of the first answer to a request that named the order no longer holds them.
async fn a_redaction_leaves_no_customer_details_behind(url: String) {
    use packbench_core::model::LabelFormat;
    let bench = bench(&url).await;
    let id = packed(&bench, 3).await;
    let (f, t, packer) = (&bench.a.fulfillment, &bench.tenant.id, bench.packer.clone());
    let user = packer.user_id.clone().unwrap();
    let shipped = f.operate(t, &id, ship(), &packer).await.expect("ship");
    let shipment = shipped.shipment.expect("a shipment").id;
    let customer = shipped.order.customer_name.clone().expect("a customer");
    assert!(
        !f.label(t, &shipment, 1, LabelFormat::Png)
            .await
            .unwrap()
            .is_empty()
    );
    // A request's first answer, kept for replays, as the API keeps it.
    let answer = serde_json::json!({"data": {"id": id.as_str(), "customer_name": customer}});
    f.idempotency_start(t, "key-9", &user, "fp").await.unwrap();
    f.idempotency_finish(t, "key-9", 200, answer.to_string().as_bytes())
        .await
        .unwrap();

    // In transit for longer than a label may still be needed, then redacted.
    bench
        .clock
        .advance(packbench_core::service::IN_TRANSIT_FOR + chrono::Duration::days(1));
    let body = br#"{"shop_id": 1, "shop_domain": "packbench-demo.myshopify.com",
        "customer": {"id": 7}, "orders_to_redact": [5003]}"#;
    f.receive_webhook(t, "w-redact", "customers/redact", body)
        .await
        .unwrap();
    f.process_inbox(t).await.unwrap();
    let erased = f.order_detail(t, &id).await.unwrap().order;
    assert_eq!(
        erased.customer_name.as_deref(),
        Some(packbench_core::model::REDACTED)
    );

    let refetch = f.label(t, &shipment, 1, LabelFormat::Png).await;
    assert!(
        matches!(&refetch, Err(Error::Conflict(m)) if m.contains("privacy")),
        "{refetch:?}"
    );
    let replay = f.idempotency_start(t, "key-9", &user, "fp").await.unwrap();
    let IdempotencyStart::Replay { body, .. } = replay else {
        panic!("{replay:?}");
    };
    let body = String::from_utf8(body).unwrap();
    assert!(!body.contains(&customer), "{body}");
    assert!(body.contains("erased at the shop's request"), "{body}");
}

/// Failed logins under made-up names leave counts behind; once they have gone quiet for the
/// throttling window, the sweep lets them go, and a fresh count stays.
async fn stale_login_counts_are_let_go(url: String) {
    let bench = bench(&url).await;
    let hub = &bench.a.fulfillment;
    let client = Some(std::net::IpAddr::from([10, 0, 0, 7]));
    for name in ["nobody-1", "nobody-2"] {
        let e = hub
            .login(&bench.tenant, name, "a wrong password", None, client)
            .await;
        assert!(matches!(e, Err(Error::Unauthorized(_))), "a wrong login");
    }
    assert_eq!(
        hub.forget_stale_login_attempts(&bench.tenant.id)
            .await
            .unwrap(),
        0,
        "still fresh"
    );
    bench
        .clock
        .set(bench.clock.now() + chrono::Duration::minutes(16));
    let e = hub
        .login(&bench.tenant, "nobody-3", "a wrong password", None, None)
        .await;
    assert!(e.is_err());
    // Two made-up names and the device's count, quiet for 16 minutes; the newest stays.
    assert_eq!(
        hub.forget_stale_login_attempts(&bench.tenant.id)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        hub.forget_stale_login_attempts(&bench.tenant.id)
            .await
            .unwrap(),
        0
    );
}

packbench_store::on_both_databases!(
    crate:
    stale_login_counts_are_let_go,
    operate_ship_and_void_through_the_services,
    an_abandoned_purchase_is_settled_as_the_clock_moves,
    an_unfinished_idempotent_request_is_said_interrupted_later,
    a_redaction_waits_for_the_bench_but_not_past_its_deadline,
    a_redaction_leaves_no_customer_details_behind,
);

//! One behaviour suite for the Store port, run on SQLite and on a real PostgreSQL server,
//! each through the store's fast path and its plain reference path. Each behaviour is an
//! async fn; `on_both_paths!` makes a test of it per path and database.
//!
//! One file although long: it is the port's specification, and any store (another database,
//! another path) must pass all of it; the behaviours share their fixtures.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use packbench_core::domain::{
    Gtin, Location, OrderId, Package, Quantity, Role, ServiceCode, ShipmentId, Sku, TenantSlug,
    UserId, Weight, WeightUnit,
};
use packbench_core::model::{
    Actor, IdempotencyStart, LabelFormat, NewOrder, NewOrderLine, OrderFilter, Shipment,
    ShipmentFilter, ShipmentStatus, StockChange, StockMove, Tenant, Timestamp, User,
};
use packbench_core::ports::{
    AccountStore, IdempotencyStore, OrderStore, SettingsStore, ShipmentStore, StockStore,
    StoreError,
};
use packbench_core::workflow::{self, Action, OrderStatus, PickItem};
use packbench_store::{Paths, SecretKey, SqlStore};

fn at(minutes: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn new_order(name: &str, created: Timestamp, lines: &[(&str, u32)]) -> NewOrder {
    NewOrder {
        hold: None,
        shop_order_id: None,
        name: name.into(),
        external_id: Some(format!("gid://shopify/Order/{name}")),
        customer_name: Some(format!("Customer of {name}")),
        ship_to: None,
        lines: lines
            .iter()
            .map(|(sku, q)| NewOrderLine {
                sku: Sku::parse(sku).unwrap(),
                barcode: (*sku == "PROD-001").then(|| Gtin::parse("012345678905").unwrap()),
                title: format!("Title {sku}"),
                quantity: *q,
                weight: None,
            })
            .collect(),
        created_at: created,
    }
}

async fn tenant(store: &SqlStore, slug: &str) -> Tenant {
    store
        .create_tenant(&TenantSlug::parse(slug).unwrap(), slug, at(0))
        .await
        .unwrap()
}

/// Tenant `acme` with operator `ann`, and `ann` as the actor (at no station).
async fn tenant_with_operator(store: &SqlStore) -> (Tenant, User, Actor) {
    let t = tenant(store, "acme").await;
    let ann = store
        .create_user(&t.id, "ann", "h", Role::Operator, at(0))
        .await
        .unwrap();
    let actor = Actor {
        user_id: Some(ann.id.clone()),
        station_id: None,
    };
    (t, ann, actor)
}

async fn users_sessions_and_tenants_are_kept_apart(store: SqlStore) {
    let a = tenant(&store, "acme").await;
    let b = tenant(&store, "bolt").await;
    assert!(matches!(
        store
            .create_tenant(&TenantSlug::parse("acme").unwrap(), "again", at(0))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let u = store
        .create_user(&a.id, "ann", "hash-a", Role::Admin, at(0))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_user(&a.id, "ann", "h", Role::Operator, at(0))
            .await,
        Err(StoreError::Conflict(_))
    ));
    store
        .create_user(&b.id, "ann", "hash-b", Role::Operator, at(0))
        .await
        .expect("the same name in another tenant is fine");
    let (found, hash) = store.credentials(&a.id, "ann").await.unwrap().unwrap();
    assert_eq!(
        (found.id.clone(), hash.as_str(), found.role),
        (u.id.clone(), "hash-a", Role::Admin)
    );
    assert!(
        store.user(&b.id, &u.id).await.unwrap().is_none(),
        "a user id of tenant A means nothing in tenant B"
    );

    store
        .create_session(&a.id, "tok", &u.id, Some("bench-1"), at(0), at(60))
        .await
        .unwrap();
    let s = store
        .session(&a.id, "tok", at(1))
        .await
        .unwrap()
        .expect("live session");
    assert_eq!(s.station_id.as_deref(), Some("bench-1"));
    assert!(
        store.session(&b.id, "tok", at(1)).await.unwrap().is_none(),
        "sessions are per tenant"
    );
    assert!(
        store.session(&a.id, "tok", at(61)).await.unwrap().is_none(),
        "expired"
    );
    store.end_session(&a.id, "tok", at(2)).await.unwrap();
    assert!(
        store.session(&a.id, "tok", at(3)).await.unwrap().is_none(),
        "revoked"
    );

    // Login attempts: counted per key and tenant, never below zero, forgotten when stale
    // or cleared, and each of many at once counted.
    let count = |t: &Tenant, delta: i64, now: Timestamp| {
        let (store, t) = (store.clone(), t.id.clone());
        async move {
            store
                .count_login_attempts(&t, "ghost", delta, now, now - Duration::minutes(15))
                .await
                .unwrap()
        }
    };
    assert_eq!(count(&a, 1, at(1)).await, 1);
    assert_eq!(count(&a, 1, at(2)).await, 2);
    assert_eq!(count(&b, 1, at(2)).await, 1, "tenants apart");
    assert_eq!(count(&a, -1, at(3)).await, 1);
    assert_eq!(count(&a, -5, at(3)).await, 0, "never below zero");
    assert_eq!(count(&a, 1, at(4)).await, 1);
    assert_eq!(
        count(&a, 1, at(30)).await,
        1,
        "forgotten after 15 quiet minutes"
    );
    store.clear_login_attempts(&a.id, "ghost").await.unwrap();
    let at_once: Vec<u32> = futures::future::join_all((0..20).map(|_| count(&a, 1, at(31)))).await;
    let mut seen = at_once.clone();
    seen.sort();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<u32>>(),
        "each attempt counted once"
    );
    // Stale counts are forgotten in a sweep, this tenant's only; fresh ones stay.
    store
        .count_login_attempts(&a.id, "made-up", 1, at(10), at(0))
        .await
        .unwrap();
    assert_eq!(
        store
            .forget_stale_login_attempts(&a.id, at(20))
            .await
            .unwrap(),
        1,
        "the made-up name, quiet since minute 10"
    );
    assert_eq!(count(&a, 1, at(32)).await, 21, "a fresh count stays");
    assert_eq!(
        store
            .forget_stale_login_attempts(&b.id, at(40))
            .await
            .unwrap(),
        1,
        "tenant B's own"
    );
    assert_eq!(
        count(&a, 1, at(33)).await,
        22,
        "tenant A's untouched by B's sweep"
    );

    let o = store
        .insert_order(&a.id, &new_order("#1001", at(1), &[("PROD-001", 2)]), at(1))
        .await
        .unwrap();
    assert!(
        store.order(&b.id, o.id()).await.unwrap().is_none(),
        "tenant B cannot see tenant A's order"
    );
    assert_eq!(
        store
            .orders(
                &b.id,
                &OrderFilter {
                    limit: 50,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .items
            .len(),
        0
    );
}

async fn orders_list_with_filters_and_cursor_pagination(store: SqlStore) {
    let t = tenant(&store, "acme").await;
    for i in 0..25 {
        let lines: &[(&str, u32)] = if i % 5 == 0 {
            &[("PROD-001", 2), ("PROD-002", 1)]
        } else {
            &[("PROD-003", 1)]
        };
        store
            .insert_order(
                &t.id,
                &new_order(&format!("#{}", 1000 + i), at(i), lines),
                at(30),
            )
            .await
            .unwrap();
    }
    let again = store
        .insert_order(
            &t.id,
            &new_order("#1000", at(0), &[("PROD-003", 1)]),
            at(30),
        )
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "an external id imports once"
    );

    let mut seen = Vec::new();
    let mut filter = OrderFilter {
        limit: 10,
        ..Default::default()
    };
    loop {
        let page = store.orders(&t.id, &filter).await.unwrap();
        seen.extend(page.items.iter().map(|o| o.name.clone()));
        match page.next {
            Some((ts, id)) => filter.after = Some((ts, OrderId::parse(&id).unwrap())),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).map(|i| format!("#{}", 1000 + i)).collect();
    assert_eq!(
        seen, expected,
        "three pages, oldest first, nothing repeated or lost"
    );

    let by_sku = store
        .orders(
            &t.id,
            &OrderFilter {
                sku: Some(Sku::parse("prod-002").unwrap()),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_sku.items.len(), 5);
    assert_eq!((by_sku.items[0].line_count, by_sku.items[0].units), (2, 3));
    let by_q = store
        .orders(
            &t.id,
            &OrderFilter {
                q: Some("#1012".into()),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_q.items.len(), 1);
    let by_q = store
        .orders(
            &t.id,
            &OrderFilter {
                q: Some("CUSTOMER OF #101".into()),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_q.items.len(), 10, "#1010..#1019, case-insensitive");
    let wild = store
        .orders(
            &t.id,
            &OrderFilter {
                q: Some("%".into()),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        wild.items.len(),
        0,
        "% is a literal in a search, not a wildcard"
    );
    let window = store
        .orders(
            &t.id,
            &OrderFilter {
                created_from: Some(at(10)),
                created_to: Some(at(12)),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(window.items.len(), 2);
    let pending = store
        .orders(
            &t.id,
            &OrderFilter {
                status: Some(OrderStatus::Pending),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 25);
    assert_eq!(
        store.status_counts(&t.id).await.unwrap(),
        vec![(OrderStatus::Pending, 25)]
    );
}

fn pick(sku: &str, q: i64) -> Action {
    Action::Pick {
        items: vec![PickItem {
            sku: Some(Sku::parse(sku).unwrap()),
            barcode: None,
            quantity: Quantity::new(q).unwrap(),
        }],
    }
}

async fn transitions_append_events_and_exactly_one_of_two_racing_operators_wins(store: SqlStore) {
    let t = tenant(&store, "acme").await;
    let ann = store
        .create_user(&t.id, "ann", "h", Role::Operator, at(0))
        .await
        .unwrap();
    let o = store
        .insert_order(&t.id, &new_order("#1", at(0), &[("PROD-001", 2)]), at(0))
        .await
        .unwrap();
    let actor = Actor {
        user_id: Some(ann.id.clone()),
        station_id: Some("bench-1".into()),
    };
    let tr = workflow::apply(
        &o.state,
        &Action::Assign {
            user: ann.id.clone(),
        },
    )
    .unwrap();
    let o = store
        .save_transition(&t.id, &o, &tr, &[], &actor, at(1))
        .await
        .unwrap();
    assert_eq!((o.status(), o.version), (OrderStatus::Processing, 2));

    // Two operators both read version 2 and each scan one unit, concurrently.
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (store, o, t, actor) = (store.clone(), o.clone(), t.id.clone(), actor.clone());
        tasks.push(tokio::spawn(async move {
            let tr = workflow::apply(&o.state, &pick("PROD-001", 1)).unwrap();
            store.save_transition(&t, &o, &tr, &[], &actor, at(2)).await
        }));
    }
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
        .count();
    assert_eq!((wins, conflicts), (1, 1), "{results:?}");

    let now = store.order(&t.id, o.id()).await.unwrap().unwrap();
    assert_eq!(now.lines()[0].picked, 1, "the loser's scan left no trace");
    let events = store.order_events(&t.id, o.id()).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["imported", "assigned", "picked"]);
    assert_eq!(events[1].station_id.as_deref(), Some("bench-1"));
    assert_eq!(events[1].user_id.as_ref(), Some(&ann.id));
}

/// Writes arriving together are committed together (SQLite's `work`, PostgreSQL's `commit`): one that
/// fails half way is undone alone, and the writes beside it still land, each exactly once.
async fn a_write_that_fails_half_way_is_undone_alone_and_the_writes_beside_it_land(
    store: SqlStore,
) {
    let (t, ann, actor) = tenant_with_operator(&store).await;
    let mut orders = Vec::new();
    for i in 0..12 {
        let o = store
            .insert_order(
                &t.id,
                &new_order(&format!("#{i}"), at(i), &[("PROD-001", 2)]),
                at(0),
            )
            .await
            .unwrap();
        let tr = workflow::apply(
            &o.state,
            &Action::Assign {
                user: ann.id.clone(),
            },
        )
        .unwrap();
        orders.push(
            store
                .save_transition(&t.id, &o, &tr, &[], &actor, at(20))
                .await
                .unwrap(),
        );
    }
    const BAD: usize = 5;
    let store = Arc::new(store);
    let tasks: Vec<_> = orders
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let (store, o, t, actor) = (store.clone(), o.clone(), t.id.clone(), actor.clone());
            tokio::spawn(async move {
                let mut tr = workflow::apply(&o.state, &pick("PROD-001", 1)).unwrap();
                if i == BAD {
                    // More than the line holds: the order's row is written before the line's
                    // check refuses it, so only undoing this write alone leaves no trace.
                    tr.state.lines[0].picked = 3;
                }
                store
                    .save_transition(&t, &o, &tr, &[], &actor, at(30))
                    .await
            })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (i, (o, r)) in orders.iter().zip(&results).enumerate() {
        let now = store.order(&t.id, o.id()).await.unwrap().unwrap();
        let kinds: Vec<_> = store
            .order_events(&t.id, o.id())
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        if i == BAD {
            assert!(r.is_err(), "{r:?}");
            assert_eq!((now.version, now.lines()[0].picked), (o.version, 0));
            assert_eq!(now.status(), OrderStatus::Processing);
            assert_eq!(kinds, vec!["imported", "assigned"]);
        } else {
            assert!(r.is_ok(), "order {i}: {r:?}");
            assert_eq!((now.version, now.lines()[0].picked), (o.version + 1, 1));
            assert_eq!(kinds, vec!["imported", "assigned", "picked"]);
        }
    }
}

async fn auto_assign_hands_each_pending_order_to_exactly_one_claimer_oldest_first(store: SqlStore) {
    let t = tenant(&store, "acme").await;
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(
            store
                .create_user(&t.id, &format!("packer{i}"), "h", Role::Operator, at(0))
                .await
                .unwrap(),
        );
    }
    // Inserted newest first, so creation time (not insertion order) must decide.
    for i in (0..5).rev() {
        store
            .insert_order(
                &t.id,
                &new_order(&format!("#{i}"), at(i), &[("PROD-003", 1)]),
                at(10),
            )
            .await
            .unwrap();
    }
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for u in &users {
        let (store, t, u) = (store.clone(), t.id.clone(), u.id.clone());
        tasks.push(tokio::spawn(async move {
            let actor = Actor {
                user_id: Some(u.clone()),
                station_id: None,
            };
            store
                .claim_next(&t, &u, &actor, at(20))
                .await
                .unwrap()
                .map(|o| {
                    assert_eq!(
                        o.state.assigned_to.as_ref(),
                        Some(&u),
                        "{} went to its claimer",
                        o.name
                    );
                    (o.name.clone(), o.id().clone(), u)
                })
        }));
    }
    let claimed: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let names: HashSet<_> = claimed
        .iter()
        .flatten()
        .map(|(n, _, _)| n.clone())
        .collect();
    assert_eq!(
        claimed.iter().flatten().count(),
        5,
        "five orders, five winners: {claimed:?}"
    );
    assert_eq!(names.len(), 5, "no order was handed out twice");
    for (name, id, u) in claimed.iter().flatten() {
        let events = store.order_events(&t.id, id).await.unwrap();
        let assigned = events.last().unwrap();
        assert_eq!(assigned.kind, "assigned");
        assert_eq!(
            assigned.user_id.as_ref(),
            Some(u),
            "{name}'s event names its claimer"
        );
    }
    assert_eq!(
        claimed.iter().filter(|c| c.is_none()).count(),
        3,
        "the other three found the queue empty"
    );
    let pending = store
        .orders(
            &t.id,
            &OrderFilter {
                status: Some(OrderStatus::Pending),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(pending.items.is_empty());

    // Sequentially, the oldest goes first.
    for i in 0..3 {
        store
            .insert_order(
                &t.id,
                &new_order(&format!("#b{i}"), at(100 + i), &[("PROD-003", 1)]),
                at(200),
            )
            .await
            .unwrap();
    }
    let u = &users[0].id;
    let actor = Actor {
        user_id: Some(u.clone()),
        station_id: None,
    };
    let first = store
        .claim_next(&t.id, u, &actor, at(300))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.name, "#b0");
    assert_eq!(first.state.assigned_to.as_ref(), Some(u));
    let events = store.order_events(&t.id, first.id()).await.unwrap();
    assert_eq!(events.last().unwrap().kind, "assigned");
}

/// Claims start where the queue starts (on PostgreSQL, a floor raised behind the claims):
/// an order that becomes claimable below it (an older order imported late) is still handed
/// out first, and while claimers, raises and late imports run at once no order is left
/// behind or handed out twice.
async fn the_queue_never_loses_an_order_that_becomes_claimable_late(store: SqlStore) {
    let t = tenant(&store, "acme").await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(
            store
                .create_user(&t.id, &format!("packer{i}"), "h", Role::Operator, at(0))
                .await
                .unwrap()
                .id,
        );
    }
    let actor = |u: &UserId| Actor {
        user_id: Some(u.clone()),
        station_id: None,
    };
    for i in 0..40 {
        store
            .insert_order(
                &t.id,
                &new_order(&format!("#{}", 100 + i), at(100 + i), &[("PROD-003", 1)]),
                at(200),
            )
            .await
            .unwrap();
    }
    let first = actor(&users[0]);
    let claim = |minute| store.claim_next(&t.id, &users[0], &first, at(minute));
    let mut handed_out = Vec::new();
    for _ in 0..10 {
        handed_out.push(claim(300).await.unwrap().unwrap().name);
    }
    assert_eq!(handed_out[9], "#109");
    store.raise_claim_floor(&t.id).await.unwrap();
    if store.backend() == packbench_store::Backend::Postgres {
        // Claims now start at the oldest order still waiting.
        let floor: i64 =
            sqlx::query_scalar("select created_at from claim_floor where tenant_id = $1")
                .bind(t.id.as_str())
                .fetch_one(store.pool_for_tools())
                .await
                .unwrap();
        assert_eq!(floor, at(110).timestamp_millis());
    }
    store
        .insert_order(
            &t.id,
            &new_order("#late", at(5), &[("PROD-003", 1)]),
            at(301),
        )
        .await
        .unwrap();
    let next = claim(302).await.unwrap().unwrap();
    assert_eq!(next.name, "#late", "the oldest goes first");
    store.raise_claim_floor(&t.id).await.unwrap();
    assert_eq!(claim(303).await.unwrap().unwrap().name, "#110");

    // All at once: six claimers until the queue looks empty, floors raised in a loop, and
    // twenty orders imported late, each older than some of those being claimed (so between
    // where the floor is and where a raise in progress may put it).
    let store = Arc::new(store);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let raiser = {
        let (store, t, done) = (store.clone(), t.id.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                store.raise_claim_floor(&t).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let importer = {
        let (store, t) = (store.clone(), t.id.clone());
        tokio::spawn(async move {
            for i in 0..20 {
                let created = at(112 + 2 * i) + Duration::seconds(30);
                let late = new_order(&format!("#late{i}"), created, &[("PROD-003", 1)]);
                store.insert_order(&t, &late, at(400)).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let mut claimers = Vec::new();
    for u in &users {
        let (store, t, u) = (store.clone(), t.id.clone(), u.clone());
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(o) = store.claim_next(&t, &u, &actor(&u), at(500)).await.unwrap() {
                mine.push(o.name);
            }
            mine
        }));
    }
    importer.await.unwrap();
    for c in claimers {
        handed_out.extend(c.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    raiser.await.unwrap();
    // What the importer added after the claimers stopped is still there, oldest first.
    store.raise_claim_floor(&t.id).await.unwrap();
    let mut rest = Vec::new();
    while let Some(o) = store
        .claim_next(&t.id, &users[0], &actor(&users[0]), at(600))
        .await
        .unwrap()
    {
        rest.push(o.created_at);
    }
    assert!(
        rest.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {rest:?}"
    );
    let total = handed_out.len() + 2 + rest.len();
    let unique: HashSet<_> = handed_out.iter().collect();
    assert_eq!(unique.len(), handed_out.len(), "no order handed out twice");
    assert_eq!(total, 40 + 1 + 20, "every order handed out, each once");
    let pending = store
        .orders(
            &t.id,
            &OrderFilter {
                status: Some(OrderStatus::Pending),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(pending.items.is_empty(), "left behind: {:?}", pending.items);
}

async fn stock_changes_are_recorded_with_their_cause_and_open_orders_allocate(store: SqlStore) {
    let t = tenant(&store, "acme").await;
    let sku = Sku::parse("PROD-001").unwrap();
    let (a2, a10) = (
        Location::parse("A-2").unwrap(),
        Location::parse("A-10").unwrap(),
    );
    let actor = Actor::system();
    store
        .change_stock(
            &t.id,
            &[
                StockChange::Set {
                    sku: sku.clone(),
                    location: a10.clone(),
                    on_hand: 10,
                },
                StockChange::Set {
                    sku: sku.clone(),
                    location: a2.clone(),
                    on_hand: 3,
                },
            ],
            "count",
            &actor,
            at(0),
        )
        .await
        .unwrap();
    store
        .change_stock(
            &t.id,
            &[StockChange::Adjust {
                sku: sku.clone(),
                location: a2.clone(),
                delta: -1,
            }],
            "damaged",
            &actor,
            at(1),
        )
        .await
        .unwrap();
    store
        .insert_order(&t.id, &new_order("#1", at(0), &[("prod-001", 4)]), at(2))
        .await
        .unwrap();
    let levels = store.stock(&t.id, Some(&sku), None).await.unwrap();
    let view: Vec<_> = levels
        .iter()
        .map(|l| {
            (
                l.location.as_str().to_owned(),
                l.on_hand,
                l.allocated,
                l.available,
            )
        })
        .collect();
    assert_eq!(
        view,
        vec![("A-2".into(), 2, 2, 0), ("A-10".into(), 10, 2, 8)],
        "A-2 first, then A-10"
    );

    let events = store.stock_events(&t.id, 0, 100).await.unwrap();
    let summary: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.seq,
                e.location.as_str().to_owned(),
                e.delta,
                e.on_hand,
                e.cause.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "A-10".into(), 10, 10, "count"),
            (2, "A-2".into(), 3, 3, "count"),
            (3, "A-2".into(), -1, 2, "damaged")
        ]
    );
    assert_eq!(
        store.stock_events(&t.id, 2, 100).await.unwrap().len(),
        1,
        "a follower reads from where it left off"
    );
}

/// The label's purchase is reserved with its pending shipment (a compare-and-set on the
/// order's version), then the order ships with it.
async fn a_ship_transition_takes_stock_and_remembers_what_it_took(store: SqlStore) {
    let t = tenant(&store, "acme").await;
    let sku = Sku::parse("PROD-001").unwrap();
    let loc = Location::parse("B-1").unwrap();
    store
        .change_stock(
            &t.id,
            &[StockChange::Set {
                sku: sku.clone(),
                location: loc.clone(),
                on_hand: 5,
            }],
            "count",
            &Actor::system(),
            at(0),
        )
        .await
        .unwrap();
    let mut o = store
        .insert_order(&t.id, &new_order("#1", at(0), &[("PROD-001", 2)]), at(0))
        .await
        .unwrap();
    let package = Package {
        weight: Weight::new(1.5, WeightUnit::Lb).unwrap(),
        dimensions: None,
        r#box: None,
    };
    let ship_id = ShipmentId::generate();
    let mut shipment = Shipment {
        id: ship_id.clone(),
        order_id: Some(o.id().clone()),
        status: ShipmentStatus::Pending,
        carrier: "ups".into(),
        service: ServiceCode::Ground,
        tracking_number: None,
        estimated_delivery: chrono::NaiveDate::from_ymd_opt(2026, 11, 5),
        package: package.clone(),
        ship_to: None,
        created_at: at(1),
        updated_at: at(1),
        boxed_at: None,
        more_packages: Vec::new(),
    };
    let u = UserId::generate();
    for action in [
        Action::Assign { user: u },
        pick("PROD-001", 2),
        Action::Pack {
            package: package.clone(),
            more_boxes: Vec::new(),
            weighed: None,
        },
    ] {
        let tr = workflow::apply(&o.state, &action).unwrap();
        o = store
            .save_transition(&t.id, &o, &tr, &[], &Actor::system(), at(2))
            .await
            .unwrap();
    }
    // The label's purchase is reserved (the pending shipment with it), at the order's version.
    let reserve = |id: &ShipmentId| Action::ReserveLabel {
        shipment: id.clone(),
        package: package.clone(),
    };
    let tr = workflow::apply(&o.state, &reserve(&ship_id)).unwrap();
    let packed = o.clone();
    o = store
        .reserve_label(&t.id, &packed, &tr, &shipment, &Actor::system(), at(2))
        .await
        .unwrap();
    assert_eq!(o.state.labeling.as_ref(), Some(&ship_id));
    assert_eq!(
        store.orders_labeling(&t.id).await.unwrap(),
        vec![o.id().clone()]
    );
    // A second reservation from the order as it was read before: refused, and its shipment
    // is not kept.
    let loser = Shipment {
        id: ShipmentId::generate(),
        ..shipment.clone()
    };
    let tr2 = workflow::apply(&packed.state, &reserve(&loser.id)).unwrap();
    assert!(matches!(
        store
            .reserve_label(&t.id, &packed, &tr2, &loser, &Actor::system(), at(2))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.shipment(&t.id, &loser.id).await.unwrap(), None);
    // Nothing is cleared while a label is being bought.
    assert!(matches!(
        store.clear_orders(&t.id).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.order(&t.id, o.id()).await.unwrap().is_some());
    // The carrier sold it.
    store
        .put_label(&t.id, &ship_id, 1, LabelFormat::Zpl, b"^XA^XZ")
        .await
        .unwrap();
    shipment.status = ShipmentStatus::Created;
    store.update_shipment(&t.id, &shipment).await.unwrap();
    let tr = workflow::apply(
        &o.state,
        &Action::Ship {
            shipment: ship_id.clone(),
            package,
        },
    )
    .unwrap();
    let moves = vec![StockMove {
        sku: sku.clone(),
        location: loc.clone(),
        delta: -2,
    }];
    let o = store
        .save_transition(&t.id, &o, &tr, &moves, &Actor::system(), at(3))
        .await
        .unwrap();
    assert_eq!(o.status(), OrderStatus::Shipped);
    assert_eq!(o.state.labeling, None, "shipping ends the reservation");
    assert!(store.orders_labeling(&t.id).await.unwrap().is_empty());
    assert_eq!(
        store.stock(&t.id, Some(&sku), None).await.unwrap()[0].on_hand,
        3
    );
    assert_eq!(
        store.shipment_stock_moves(&t.id, &ship_id).await.unwrap(),
        moves
    );
    let reread = store.order(&t.id, o.id()).await.unwrap().unwrap();
    assert_eq!(reread.state, o.state, "what was saved is what is read back");

    let got = store.shipment(&t.id, &ship_id).await.unwrap().unwrap();
    assert_eq!(got, shipment);
    assert_eq!(
        store
            .label(&t.id, &ship_id, 1, LabelFormat::Zpl)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"^XA^XZ"[..])
    );
    assert_eq!(
        store
            .label(&t.id, &ship_id, 1, LabelFormat::Png)
            .await
            .unwrap(),
        None
    );
    let listed = store
        .shipments(
            &t.id,
            &ShipmentFilter {
                order_id: Some(o.id().clone()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    assert_eq!(store.clear_orders(&t.id).await.unwrap(), 1);
    assert!(store.order(&t.id, o.id()).await.unwrap().is_none());
    assert!(store.shipment(&t.id, &ship_id).await.unwrap().is_none());
    assert_eq!(
        store.stock(&t.id, Some(&sku), None).await.unwrap()[0].on_hand,
        3,
        "clearing orders keeps stock"
    );
}

async fn idempotency_keys_replay_the_first_answer(store: SqlStore) {
    let t = tenant(&store, "acme").await;
    let u = UserId::generate();
    assert_eq!(
        store
            .idempotency_start(&t.id, "k1", &u, "fp", at(0))
            .await
            .unwrap(),
        IdempotencyStart::Proceed
    );
    assert_eq!(
        store
            .idempotency_start(&t.id, "k1", &u, "fp", at(0))
            .await
            .unwrap(),
        IdempotencyStart::InProgress
    );
    store
        .idempotency_finish(&t.id, "k1", 200, b"{\"data\":1}")
        .await
        .unwrap();
    assert_eq!(
        store
            .idempotency_start(&t.id, "k1", &u, "fp", at(1))
            .await
            .unwrap(),
        IdempotencyStart::Replay {
            status: 200,
            body: b"{\"data\":1}".to_vec()
        }
    );
    assert_eq!(
        store
            .idempotency_start(&t.id, "k1", &u, "other", at(1))
            .await
            .unwrap(),
        IdempotencyStart::Mismatch
    );
    assert_eq!(
        store
            .idempotency_start(&t.id, "k2", &u, "fp", at(0))
            .await
            .unwrap(),
        IdempotencyStart::Proceed
    );
    store.idempotency_abandon(&t.id, "k2").await.unwrap();
    assert_eq!(
        store
            .idempotency_start(&t.id, "k2", &u, "fp", at(0))
            .await
            .unwrap(),
        IdempotencyStart::Proceed,
        "abandoned keys can run again"
    );
    // Started and never finished (the hub stopped part-way): after a while it is reported as
    // interrupted, and still neither replayed nor run again.
    assert_eq!(
        store
            .idempotency_start(&t.id, "k2", &u, "fp", at(1))
            .await
            .unwrap(),
        IdempotencyStart::InProgress
    );
    assert_eq!(
        store
            .idempotency_start(&t.id, "k2", &u, "fp", at(3))
            .await
            .unwrap(),
        IdempotencyStart::Interrupted { since: at(0) }
    );
}

async fn settings_and_device_settings_round_trip(store: SqlStore) {
    let t = tenant(&store, "acme").await;
    assert_eq!(store.settings(&t.id).await.unwrap(), None);
    let doc = serde_json::json!({"default_location": "A-1", "ups": {"client_secret": "s3cret"}});
    store.put_settings(&t.id, &doc, at(0)).await.unwrap();
    assert_eq!(store.settings(&t.id).await.unwrap(), Some(doc));
    let dev = serde_json::json!({"scale": {"kind": "hid", "vid": 2338}});
    store
        .put_device_settings(&t.id, "bench-1", &dev, at(0))
        .await
        .unwrap();
    assert_eq!(
        store.device_settings(&t.id, "bench-1").await.unwrap(),
        Some(dev)
    );
    assert_eq!(store.device_settings(&t.id, "bench-2").await.unwrap(), None);
}

/// A store on the fast path a hub runs.
async fn fast(url: String) -> SqlStore {
    let store = SqlStore::connect_with(&url, Paths::Fast)
        .await
        .unwrap()
        .with_secret_key(SecretKey::generate());
    assert_eq!(store.paths(), Paths::Fast);
    store
}

/// A store on the plain path the fast one is held to (a transaction per operation, nothing
/// kept in memory).
async fn plain(url: String) -> SqlStore {
    let store = SqlStore::connect_with(&url, Paths::Plain)
        .await
        .unwrap()
        .with_secret_key(SecretKey::generate());
    assert_eq!(store.paths(), Paths::Plain);
    store
}

/// Each behaviour on both paths, each on both databases: `fast::sqlite::name`,
/// `plain::postgres::name`...
macro_rules! on_both_paths {
    ($($name:ident),* $(,)?) => {
        mod fast {
            packbench_store::on_both_databases!(crate: $($name),* ; given crate::fast);
        }
        mod plain {
            packbench_store::on_both_databases!(crate: $($name),* ; given crate::plain);
        }
    };
}

on_both_paths!(
    users_sessions_and_tenants_are_kept_apart,
    orders_list_with_filters_and_cursor_pagination,
    transitions_append_events_and_exactly_one_of_two_racing_operators_wins,
    a_write_that_fails_half_way_is_undone_alone_and_the_writes_beside_it_land,
    auto_assign_hands_each_pending_order_to_exactly_one_claimer_oldest_first,
    the_queue_never_loses_an_order_that_becomes_claimable_late,
    stock_changes_are_recorded_with_their_cause_and_open_orders_allocate,
    a_ship_transition_takes_stock_and_remembers_what_it_took,
    idempotency_keys_replay_the_first_answer,
    settings_and_device_settings_round_trip,
);

/// Operations may start from the state a store last read or wrote of an order (`working`).
/// Whatever this store writes is seen by the next operation; what another hub on the same
/// database writes makes the next operation here fail with a conflict (never a write over
/// it), and the one after that starts from the database again.
async fn an_operation_never_builds_on_a_stale_order(url: String) {
    let store = SqlStore::connect(&url).await.unwrap();
    let (t, ann, actor) = tenant_with_operator(&store).await;
    store
        .insert_order(
            &t.id,
            &new_order("#1", at(0), &[("PROD-001", 3), ("PROD-002", 1)]),
            at(0),
        )
        .await
        .unwrap();
    let claimed = store
        .claim_next(&t.id, &ann.id, &actor, at(1))
        .await
        .unwrap()
        .unwrap();
    let id = claimed.id().clone();
    let unstocked = |w: &packbench_core::ports::OrderToWork| {
        let mut u: Vec<_> = w.unstocked.iter().cloned().collect();
        u.sort();
        u
    };
    let w = store.order_to_work(&t.id, &id).await.unwrap().unwrap();
    assert_eq!((w.order.version, unstocked(&w).len()), (2, 2));

    // This store's own transition: the next operation starts from it.
    let tr = workflow::apply(&w.order.state, &pick("PROD-001", 1)).unwrap();
    store
        .save_transition(&t.id, &w.order, &tr, &[], &actor, at(2))
        .await
        .unwrap();
    let w = store.order_to_work(&t.id, &id).await.unwrap().unwrap();
    assert_eq!((w.order.version, w.order.lines()[0].picked), (3, 1));

    // This store's other writes: stock recorded, lines replaced by a sync.
    store
        .change_stock(
            &t.id,
            &[StockChange::Set {
                sku: Sku::parse("PROD-001").unwrap(),
                location: Location::parse("A-1").unwrap(),
                on_hand: 5,
            }],
            "count",
            &actor,
            at(3),
        )
        .await
        .unwrap();
    let w = store.order_to_work(&t.id, &id).await.unwrap().unwrap();
    assert_eq!(unstocked(&w), vec![Sku::parse("PROD-002").unwrap().key()]);
    let mut lines = new_order("#1", at(0), &[("PROD-001", 4), ("PROD-002", 1)]).lines;
    lines.truncate(2);
    store
        .replace_order_lines(&t.id, &id, &lines, at(4))
        .await
        .unwrap();
    let w = store.order_to_work(&t.id, &id).await.unwrap().unwrap();
    let db = store.order(&t.id, &id).await.unwrap().unwrap();
    assert_eq!(w.order.version, db.version);
    assert_eq!(w.order.lines()[0].quantity, 4);

    // Another hub picks; this store still holds the state before it.
    let other = SqlStore::connect(&url).await.unwrap();
    let theirs = other.order_to_work(&t.id, &id).await.unwrap().unwrap();
    let tr = workflow::apply(&theirs.order.state, &pick("PROD-002", 1)).unwrap();
    other
        .save_transition(&t.id, &theirs.order, &tr, &[], &actor, at(5))
        .await
        .unwrap();
    let ours = store.order_to_work(&t.id, &id).await.unwrap().unwrap();
    let tr = workflow::apply(&ours.order.state, &pick("PROD-001", 1)).unwrap();
    let stale = store
        .save_transition(&t.id, &ours.order, &tr, &[], &actor, at(6))
        .await;
    // Built on the state before the other hub's pick (this store kept it): refused, and
    // nothing written.
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(ours.order.version, theirs.order.version);
    // The next operation starts from the database. The sync's new lines start unpicked;
    // every pick since counts, each once, the other hub's included.
    let w = store.order_to_work(&t.id, &id).await.unwrap().unwrap();
    let tr = workflow::apply(&w.order.state, &pick("PROD-001", 1)).unwrap();
    store
        .save_transition(&t.id, &w.order, &tr, &[], &actor, at(7))
        .await
        .unwrap();
    let db = store.order(&t.id, &id).await.unwrap().unwrap();
    let picked: Vec<_> = db.lines().iter().map(|l| l.picked).collect();
    assert_eq!(picked, vec![1, 1], "{:?}", db.lines());
}

/// The settings' secrets are sealed with the hub's key (`sealed`): the database holds none
/// in plain text, a store without the key refuses to keep one, a store with another key says
/// so, a sealed value copied to another tenant does not open, and secrets kept in plain text
/// before are sealed when a hub with a key starts.
async fn secrets_are_sealed_at_rest_with_the_hubs_key(url: String) {
    let key = SecretKey::generate();
    let store = SqlStore::connect(&url)
        .await
        .unwrap()
        .with_secret_key(key.clone());
    let (a, b) = (tenant(&store, "acme").await, tenant(&store, "bolt").await);
    let doc = serde_json::json!({
        "shopify": {"shop_domain": "acme.myshopify.com", "access_token": "shpat_plain", "client_secret": "cs_plain"},
        "ups": {"client_id": "id", "client_secret": "ups_plain"},
    });
    store.put_settings(&a.id, &doc, at(0)).await.unwrap();
    assert_eq!(store.settings(&a.id).await.unwrap(), Some(doc.clone()));
    let raw = |tenant: &packbench_core::domain::TenantId| {
        let tenant = tenant.as_str().to_owned();
        let pool = store.pool_for_tools().clone();
        async move {
            let row: (String,) =
                sqlx::query_as("select document from tenant_setting where tenant_id = $1")
                    .bind(tenant)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            serde_json::from_str::<serde_json::Value>(&row.0).unwrap()
        }
    };
    let at_rest = raw(&a.id).await;
    for plain in ["shpat_plain", "cs_plain", "ups_plain"] {
        assert!(!at_rest.to_string().contains(plain), "{at_rest}");
    }
    assert!(
        at_rest["ups"]["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(&format!("sealed:v1:{}:", key.id())),
        "{at_rest}"
    );
    assert_eq!(at_rest["ups"]["client_id"], "id", "only secrets are sealed");

    // Another tenant's sealed secret, copied in, does not open here.
    let w = store.pool_for_tools();
    sqlx::query("insert into tenant_setting (tenant_id, document, updated_at) values ($1, $2, 0)")
        .bind(b.id.as_str())
        .bind(at_rest.to_string())
        .execute(w)
        .await
        .unwrap();
    let e = store.settings(&b.id).await.unwrap_err();
    let why = std::error::Error::source(&e).unwrap().to_string();
    assert!(why.contains("damaged"), "{why}");

    // A store without the key keeps no secret, and reads none.
    let keyless = SqlStore::connect(&url).await.unwrap();
    let before = raw(&a.id).await;
    let e = keyless
        .put_settings(
            &a.id,
            &serde_json::json!({"ups": {"client_secret": "x"}}),
            at(1),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("storage") && format!("{e:?}").contains("no secret key"),
        "{e:?}"
    );
    assert_eq!(raw(&a.id).await, before, "nothing changed");
    assert!(keyless.settings(&a.id).await.is_err());
    // Settings without secrets need no key.
    let c = tenant(&keyless, "corp").await;
    let open = serde_json::json!({"default_location": "A-1"});
    keyless.put_settings(&c.id, &open, at(1)).await.unwrap();
    assert_eq!(keyless.settings(&c.id).await.unwrap(), Some(open));

    // Another key: named at once, with both ids.
    let other = SqlStore::connect(&url)
        .await
        .unwrap()
        .with_secret_key(SecretKey::generate());
    let e = other.seal_stored_secrets().await.unwrap_err();
    let why = std::error::Error::source(&e).unwrap().to_string();
    assert!(
        why.contains(key.id()) && why.contains("was sealed with key"),
        "{why}"
    );

    // Plain secrets kept before sealing: sealed when a hub with the key starts, once.
    sqlx::query("delete from tenant_setting where tenant_id = $1")
        .bind(b.id.as_str())
        .execute(w)
        .await
        .unwrap();
    sqlx::query("update tenant_setting set document = $1 where tenant_id = $2")
        .bind(doc.to_string())
        .bind(a.id.as_str())
        .execute(w)
        .await
        .unwrap();
    assert_eq!(store.seal_stored_secrets().await.unwrap(), 1);
    assert_eq!(store.seal_stored_secrets().await.unwrap(), 0);
    assert!(!raw(&a.id).await.to_string().contains("ups_plain"));
    assert_eq!(store.settings(&a.id).await.unwrap(), Some(doc));
}

mod sealed {
    packbench_store::on_both_databases!(crate: secrets_are_sealed_at_rest_with_the_hubs_key);
}

/// The order cache is the fast path's; the plain path keeps nothing to go stale.
mod stale {
    packbench_store::on_both_databases!(crate: an_operation_never_builds_on_a_stale_order);
}

/// SQLite's write-ahead log is copied into the database in the background (`Checkpointer`):
/// under writes that never pause it still starts over every few seconds, rewritten in place
/// (its file is not cut back, which would stall the writers while the filesystem frees it
/// and make every write after allocate its blocks again), and nothing written is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_write_ahead_log_starts_over_under_steady_writes() {
    let url = packbench_store::testing::sqlite_url();
    let wal = format!("{}-wal", url.trim_start_matches("sqlite://"));
    let store = SqlStore::connect(&url).await.unwrap();
    let (t, ann, actor) = tenant_with_operator(&store).await;
    let mut o = store
        .insert_order(
            &t.id,
            &new_order("#1", at(0), &[("PROD-001", 1_000_000)]),
            at(0),
        )
        .await
        .unwrap();
    let assign = workflow::apply(
        &o.state,
        &Action::Assign {
            user: ann.id.clone(),
        },
    )
    .unwrap();
    o = store
        .save_transition(&t.id, &o, &assign, &[], &actor, at(1))
        .await
        .unwrap();
    // The WAL header's checkpoint sequence number goes up by one each time the log starts over.
    let restarts = || {
        let header = std::fs::read(&wal).unwrap_or_default();
        header
            .get(12..16)
            .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()))
    };
    let (first, mut size, mut picks) = (restarts(), 0, 0u64);
    let started = std::time::Instant::now();
    // Two checkpoints' worth (one every two seconds), one pick at a time, without a pause.
    while started.elapsed() < std::time::Duration::from_millis(4_500) {
        let tr = workflow::apply(&o.state, &pick("PROD-001", 1)).unwrap();
        o = store
            .save_transition(&t.id, &o, &tr, &[], &actor, at(2))
            .await
            .unwrap();
        picks += 1;
        let now = std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert!(
            now >= size,
            "the log's file was cut back from {size} to {now} bytes"
        );
        size = now;
    }
    assert!(
        restarts() > first,
        "the log never started over in {picks} writes (its file is {size} bytes)"
    );
    let again = SqlStore::connect(&url).await.unwrap();
    let o = again.order(&t.id, o.id()).await.unwrap().unwrap();
    assert_eq!(o.lines()[0].picked as u64, picks);
    let events = again.order_events(&t.id, o.id()).await.unwrap();
    assert_eq!(
        events.len() as u64,
        picks + 2,
        "imported, assigned, then a pick each"
    );
    drop((store, again));
    let db = url.trim_start_matches("sqlite://");
    for file in [db.to_owned(), wal, format!("{db}-shm")] {
        let _ = std::fs::remove_file(file);
    }
}

#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused_with_what_to_use_instead() {
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        "sqlite://x.db?mode=memory",
    ] {
        let Err(e) = SqlStore::connect(url).await else {
            panic!("{url} was accepted");
        };
        let said = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(said.contains("must be a file"), "{url}: {said}");
    }
}

/// The bench's hot path keeps its own PostgreSQL connections (handed back without a ping):
/// when the server drops them, the statement that finds out fails and drops its connection,
/// and the next one works on a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_hot_path_recovers_when_the_server_drops_its_connections() {
    let Some(url) = packbench_store::testing::postgres_url().await else {
        return;
    };
    let store = SqlStore::connect(&url).await.unwrap();
    let t = tenant(&store, "acme").await;
    let order = store
        .insert_order(&t.id, &new_order("#1", at(0), &[("PROD-003", 1)]), at(1))
        .await
        .unwrap();
    assert!(store.order(&t.id, order.id()).await.unwrap().is_some());
    sqlx::query(
        "select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid()",
    )
    .execute(store.pool_for_tools())
    .await
    .unwrap();
    // The first use may meet the dropped connection; after that, a new one.
    let _ = store.order(&t.id, order.id()).await;
    for _ in 0..3 {
        let found = store.order(&t.id, order.id()).await.unwrap();
        assert_eq!(found.map(|o| o.name), Some("#1".to_owned()));
    }
}

/// Claims arriving together are handed out by one statement (PostgreSQL's `claim`): one that
/// fails (here a station id PostgreSQL cannot store) fails alone, and the claims beside it
/// each still get their own order. SQLite stores that id, so this is PostgreSQL's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_claim_that_fails_fails_alone_and_the_claims_beside_it_land() {
    let Some(url) = packbench_store::testing::postgres_url().await else {
        return;
    };
    let store = SqlStore::connect(&url).await.unwrap();
    let t = tenant(&store, "acme").await;
    let ann = store
        .create_user(&t.id, "ann", "h", Role::Operator, at(0))
        .await
        .unwrap();
    for i in 0..12 {
        store
            .insert_order(
                &t.id,
                &new_order(&format!("#{i}"), at(i), &[("PROD-003", 1)]),
                at(20),
            )
            .await
            .unwrap();
    }
    const BAD: usize = 3;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, t, u) = (store.clone(), t.id.clone(), ann.id.clone());
            tokio::spawn(async move {
                let actor = Actor {
                    user_id: Some(u.clone()),
                    station_id: Some(if i == BAD {
                        "bench\0".into()
                    } else {
                        format!("bench-{i}")
                    }),
                };
                store.claim_next(&t, &u, &actor, at(30)).await
            })
        })
        .collect();
    let mut claimed = HashSet::new();
    for (i, r) in futures::future::join_all(tasks)
        .await
        .into_iter()
        .enumerate()
    {
        match r.unwrap() {
            Ok(order) => {
                assert_ne!(i, BAD, "the bad claim was refused");
                let order = order.expect("twelve orders for seven good claims");
                let events = store.order_events(&t.id, order.id()).await.unwrap();
                assert_eq!(
                    events.last().unwrap().station_id,
                    Some(format!("bench-{i}"))
                );
                assert!(claimed.insert(order.name), "no order went to two claims");
            }
            Err(_) => assert_eq!(i, BAD, "only the bad claim failed"),
        }
    }
    assert_eq!(claimed.len(), 7);
    let pending = store
        .orders(
            &t.id,
            &OrderFilter {
                status: Some(OrderStatus::Pending),
                limit: 20,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 5, "the failed claim took nothing");
    let oldest: HashSet<String> = (0..7).map(|i| format!("#{i}")).collect();
    assert_eq!(
        claimed, oldest,
        "the good claims took the seven oldest orders"
    );
}

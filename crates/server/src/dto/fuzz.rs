//! Inputs for the request parsers' property tests: JSON built mostly from the fields the
//! bodies have, with the values the parsers look hardest at (signs, separators, characters of
//! more than one byte, the integers at the ends of their range).

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::ORDER_QUERY;

/// What a value may hold: the characters the parsers look at, digits, signs, and
/// characters of more than one byte.
pub const VALUE: &str = "[-+:.TZ0-9a-z%_#()\\]\u{1d}€é ]{0,24}";

/// `GET orders`' parameters, and one it does not take.
pub fn order_key(i: usize) -> &'static str {
    ORDER_QUERY.get(i).copied().unwrap_or("other")
}

pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        edge_integer(),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        VALUE.prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(field(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The integers at the ends of their range, and around zero.
pub fn edge_integer() -> impl Strategy<Value = Value> {
    proptest::sample::select(vec![i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX]).prop_map(Value::from)
}

/// Mostly the fields a request body has, sometimes another.
pub fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => proptest::sample::select(vec![
            // operations
            "action", "items", "sku", "barcode", "quantity", "package", "weight",
            "weight_unit", "dimensions", "length", "width", "height", "unit", "box",
            "service", "reason", "user_id",
            // batches, inventory, shipments, login, device settings
            "order_ids", "format", "concurrency", "changes", "location", "on_hand", "delta",
            "order_id", "ship_to", "username", "password", "station_id", "settings",
            // addresses
            "name", "company", "lines", "city", "state", "postal_code", "country", "phone",
            // settings (PATCH settings) and device settings
            "shopify", "ups", "shipper", "default_location", "auto_fulfill", "units",
            "shop_domain", "access_token", "api_secret", "api_base_url", "client_id",
            "client_secret", "location_ids", "notify_customer", "environment", "base_url",
            "label_format", "batch_concurrency", "account_number", "attention", "email",
            "address", "dimension", "scale", "printer", "slip_printer", "scanner", "dpi",
            "darkness", "auto_print", "boxes",
            // Shopify webhooks
            "myshopify_domain", "customer", "id", "orders_to_redact", "orders_requested",
            "data_request",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{1,8}",
    ]
}

/// An object of fields (mostly known ones), with `fixed` fields set as given; half the time no
/// other field, so bodies that refuse unknown fields are reached too.
pub fn object(fixed: Vec<(&'static str, BoxedStrategy<Value>)>) -> impl Strategy<Value = Value> {
    let fixed: Vec<_> = fixed
        .into_iter()
        .map(|(k, v)| v.prop_map(move |v| (k, v)))
        .collect();
    (
        fixed,
        proptest::collection::btree_map(field(), any_json(), 0..2),
    )
        .prop_map(|(fixed, rest)| {
            let mut m: Map<String, Value> = rest.into_iter().collect();
            for (k, v) in fixed {
                m.insert(k.into(), v);
            }
            Value::Object(m)
        })
}

pub fn operation() -> impl Strategy<Value = Value> {
    let action = prop_oneof![
        proptest::sample::select(vec!["pick", "pack", "ship", "void", "cancel", "assign"])
            .prop_map(Value::from),
        any_json(),
    ];
    object(vec![("action", action.boxed())])
}

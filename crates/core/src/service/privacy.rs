//! The shop's privacy requests (GDPR/CCPA compliance webhooks): a customer's data request is
//! answered with what the bench holds on them; a redaction erases customer details from the
//! orders it names once they no longer need them (delivered, cancelled, or shipped more than
//! [`IN_TRANSIT_FOR`] ago), and waits for the others, [`REDACTION_WAITS_AT_MOST`] at most.

use serde_json::{Value, json};

use super::Fulfillment;
use crate::domain::TenantId;
use crate::error::Result;
use crate::model::{Order, PrivacyKind, PrivacyRequest, Timestamp};
use crate::ports::LiveEvent;
use crate::workflow::OrderStatus;

/// How long a shipped order keeps its address for a possible void or re-label when no
/// delivery scan arrives.
pub const IN_TRANSIT_FOR: chrono::Duration = chrono::Duration::days(30);

/// How long a redaction waits for orders the bench is not done with before it erases them
/// anyway. Shopify gives an app 30 days to carry out a redaction; a request left open for
/// ever (an order that never moves on, or a request nobody can finish) would keep customer
/// details without end. Two days short of 30, so the sweeper's round lands inside them.
pub const REDACTION_WAITS_AT_MOST: chrono::Duration = chrono::Duration::days(28);

/// A privacy delivery as a request to keep. The body is Shopify's (signed): the customer id and
/// the orders it names (`orders_requested` / `orders_to_redact`); a shop redaction names none.
pub fn privacy_request(
    kind: PrivacyKind,
    webhook_id: &str,
    body: &[u8],
    now: Timestamp,
) -> PrivacyRequest {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let id_text = |v: &Value| match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(crate::model::shop_numeric_id(s).to_owned()),
        _ => None,
    };
    let orders_key = match kind {
        PrivacyKind::CustomerDataRequest => "orders_requested",
        PrivacyKind::CustomerRedact => "orders_to_redact",
        PrivacyKind::ShopRedact => "",
    };
    PrivacyRequest {
        id: webhook_id.to_owned(),
        kind,
        customer_id: id_text(&body["customer"]["id"]),
        shop_order_ids: body[orders_key]
            .as_array()
            .map(|a| a.iter().filter_map(id_text).collect())
            .unwrap_or_default(),
        received_at: now,
        completed_at: None,
        result: None,
    }
}

/// Whether the bench is done with an order's customer details.
pub fn done_with_customer(order: &Order, now: Timestamp) -> bool {
    match order.status() {
        OrderStatus::Delivered | OrderStatus::Cancelled => true,
        OrderStatus::Shipped => now - order.updated_at > IN_TRANSIT_FOR,
        _ => false,
    }
}

impl Fulfillment {
    /// The tenant's privacy requests, newest first.
    pub async fn privacy_requests(&self, tenant: &TenantId) -> Result<Vec<PrivacyRequest>> {
        Ok(self.store.privacy_requests(tenant, false).await?)
    }

    /// Carries out the privacy requests still open: answers data requests, erases what
    /// redactions ask for where the bench is done with it, and leaves a redaction open while
    /// any of its orders is still on its way. Answers how many requests were completed.
    pub async fn apply_privacy_requests(&self, tenant: &TenantId) -> Result<usize> {
        let mut completed = 0;
        for request in self.store.privacy_requests(tenant, true).await? {
            let now = self.clock.now();
            let named = match request.kind {
                PrivacyKind::ShopRedact => None,
                _ => Some(request.shop_order_ids.as_slice()),
            };
            let ids = self.store.orders_from_shop(tenant, named).await?;
            let (result, done) = match request.kind {
                PrivacyKind::CustomerDataRequest => {
                    let mut orders = Vec::with_capacity(ids.len());
                    for id in &ids {
                        let d = self.order_detail(tenant, id).await?;
                        orders.push(json!({
                            "order": d.order.name,
                            "status": d.order.status(),
                            "customer_name": d.order.customer_name,
                            "ship_to": d.order.ship_to,
                            "created_at": d.order.created_at,
                            "shipments": d.shipments.iter().map(|s| json!({
                                "carrier": s.carrier, "service": s.service,
                                "tracking_number": s.tracking_number.as_ref().map(|t| t.as_str()),
                                "status": s.status, "ship_to": s.ship_to,
                            })).collect::<Vec<_>>(),
                        }));
                    }
                    (json!({"orders": orders}), true)
                }
                PrivacyKind::CustomerRedact | PrivacyKind::ShopRedact => {
                    let mut erased = Vec::new();
                    let mut waiting = Vec::new();
                    let mut erased_unfinished = Vec::new();
                    let overdue = now - request.received_at >= REDACTION_WAITS_AT_MOST;
                    for id in &ids {
                        let order = self.load(tenant, id).await?;
                        if !done_with_customer(&order, now) {
                            if !overdue {
                                waiting.push(order.name.clone());
                                continue;
                            }
                            erased_unfinished.push(order.name.clone());
                        }
                        if self.store.redact_order(tenant, id, now).await? {
                            self.bus.publish(
                                tenant,
                                LiveEvent::OrderChanged {
                                    order_id: id.clone(),
                                    status: order.status(),
                                    event: "customer_redacted".into(),
                                },
                            );
                        }
                        erased.push(order.name.clone());
                    }
                    let done = waiting.is_empty();
                    let mut result = json!({"erased": erased, "waiting": waiting});
                    if !erased_unfinished.is_empty() {
                        // Erased at the deadline though the bench was not done with them.
                        result["erased_at_deadline"] = json!(erased_unfinished);
                    }
                    (result, done)
                }
            };
            self.store
                .update_privacy_request(tenant, &request.id, &result, done.then_some(now))
                .await?;
            if done {
                completed += 1;
            }
        }
        Ok(completed)
    }
}

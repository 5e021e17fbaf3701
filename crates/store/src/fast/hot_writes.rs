//! A transition and a claim as the hot paths write them (`sqlite_work` on SQLite, `pg_group_commit`
//! and
//! `pg_group_claim` on PostgreSQL).

use packbench_core::domain::TenantId;
use packbench_core::model::{Actor, Order, Timestamp};
use packbench_core::workflow::Transition;

use crate::rows::ms;

/// An order event, as written with a transition or a claim.
pub(crate) struct Event {
    pub kind: &'static str,
    pub user: Option<String>,
    pub station: Option<String>,
    pub payload: String,
}

/// A transition that moves no stock: the order's new columns, its changed lines
/// (`(line_no, picked)`), and its event; written only if the order is still at `version`.
pub(crate) struct Change {
    pub tenant: String,
    pub order: String,
    pub version: i64,
    pub status: &'static str,
    pub assigned: Option<String>,
    pub package: Option<String>,
    pub shipment: Option<String>,
    pub cancel_reason: Option<String>,
    pub lines: Vec<(i64, i64)>,
    pub event: Event,
    pub at: i64,
}

impl Change {
    /// What `t` changes in `before`, done by `actor` at `now`.
    pub(crate) fn of(
        tenant: &TenantId,
        before: &Order,
        t: &Transition,
        actor: &Actor,
        now: Timestamp,
    ) -> Self {
        let next = &t.state;
        Self {
            tenant: tenant.as_str().to_owned(),
            order: next.id.as_str().to_owned(),
            version: before.version,
            status: next.status.as_str(),
            assigned: next.assigned_to.as_ref().map(|u| u.as_str().to_owned()),
            package: crate::rows::boxes_column(next),
            shipment: next.shipment_id.as_ref().map(|s| s.as_str().to_owned()),
            cancel_reason: next.cancel_reason.clone(),
            lines: before
                .state
                .lines
                .iter()
                .zip(&next.lines)
                .filter(|(o, n)| o.picked != n.picked)
                .map(|(_, n)| (i64::from(n.line_no), i64::from(n.picked)))
                .collect(),
            event: Event {
                kind: t.event_kind,
                user: actor.user_id.as_ref().map(|u| u.as_str().to_owned()),
                station: actor.station_id.clone(),
                payload: t.payload.to_string(),
            },
            at: ms(now),
        }
    }
}

/// Auto-assign: who takes the oldest pending order, and when.
pub(crate) struct Claim {
    pub tenant: String,
    pub user: String,
    /// The actor, for the event: the same user when they claim for themselves.
    pub by: Option<String>,
    pub station: Option<String>,
    pub at: i64,
}

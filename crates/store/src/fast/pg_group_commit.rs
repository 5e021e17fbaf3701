//! PostgreSQL: the bench's transitions committed in groups, one statement per group.
//!
//! A pick or a pack is a small write (the order's row, a line, an event), and PostgreSQL's
//! cost for it was mostly the statement around it: the round trip, a server process woken,
//! the executor set up for three tables and their seven indexes, the commit. Under 8
//! clients the server's processes took half of both cores for ~0.2 ms of actual work per
//! transition (BENCHMARKS.md, session 7). So transitions queue here, like SQLite's (`sqlite_work`):
//! a committer task takes every transition waiting and writes them all with one statement
//! ([`SAVE_GROUP`]), its rows given as arrays, on one connection. Each transition is still
//! written only if its order is at the version it started from: the ones whose order moved on
//! are simply not in the statement's answer, and their callers get a conflict while the
//! others are saved. A transition is answered only once its group has committed.
//!
//! One group holds at most one transition per order: a second one for the same order (two
//! operators at once) waits for the next group, where it finds the version moved on. If the
//! group's statement fails (a broken check, a deadlock with another writer), nothing of it
//! was written, and each of its transitions is tried again alone, so one bad transition fails
//! only itself.
//!
//! The connection plans the statement once for every group size (`plan_cache_mode =
//! force_generic_plan`): PostgreSQL otherwise judged its generic plan (which assumes
//! unknown-length arrays) dearer than a plan made for each group's values, and re-planned it
//! every time (~0.6 ms, more than the writes).

use sqlx::Row;

use packbench_core::ports::{StoreError, StoreResult};

use crate::fast::grouped::{Asked, Grouped, Groups};
use crate::fast::hot_writes::Change;
use crate::fast::pg_connections::HotPath;
use crate::rows::db;

/// Most transitions written by one statement; more wait for the next.
const MAX_GROUP: usize = 64;

/// Every transition of a group: the orders (`t`, its position in the group as `n`), then
/// the changed lines of the orders updated (by `n`), then their events. Answers the `n` of each
/// order saved.
const SAVE_GROUP: &str = "with o as (
    update sales_order s set status = t.status, version = s.version + 1, assigned_to = t.assigned_to,
        package = t.package, shipment_id = t.shipment_id, cancel_reason = t.cancel_reason, updated_at = t.at
    from unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::int8[], $10::text[], $11::text[], $12::text[], $13::text[])
         with ordinality as t(tenant_id, order_id, version, status, assigned_to, package, shipment_id,
                              cancel_reason, at, kind, user_id, station_id, payload, n)
    where s.tenant_id = t.tenant_id and s.order_id = t.order_id and s.version = t.version
    returning t.n, s.tenant_id, s.order_id, s.version, t.kind, t.user_id, t.station_id, t.payload, t.at
),
l as (
    update order_line ol set picked = x.picked
    from unnest($14::int8[], $15::int8[], $16::int8[]) as x(n, line_no, picked), o
    where o.n = x.n and ol.tenant_id = o.tenant_id and ol.order_id = o.order_id and ol.line_no = x.line_no
),
e as (
    insert into order_event (tenant_id, order_id, seq, kind, user_id, station_id, payload, created_at)
    select tenant_id, order_id, version, kind, user_id, station_id, payload, at from o
)
select n from o";

/// Transitions, committed in groups on the committer's connection (one: a group at a time).
struct Commits {
    hot: HotPath,
}

impl Grouped for Commits {
    type Work = Change;
    /// Whether it was saved: `false` when its order had moved on from its version.
    type Answer = bool;
    const TASK: &'static str = "PostgreSQL committer";

    /// At most one change per order in a group.
    fn joins(group: &[Asked<Self>], next: &Asked<Self>) -> bool {
        let (tenant, order) = (&next.work.tenant, &next.work.order);
        group.len() < MAX_GROUP
            && !group
                .iter()
                .any(|g| &g.work.order == order && &g.work.tenant == tenant)
    }

    async fn run(&self, group: &[&Change]) -> StoreResult<Vec<bool>> {
        save_group(&self.hot, group).await
    }
}

/// Where transitions queue for their group. The committer stops with the store.
pub(crate) struct Committer(Groups<Commits>);

impl Committer {
    pub(crate) fn start(hot: HotPath) -> Self {
        Self(Groups::start(Commits { hot }))
    }

    /// Writes `hot_writes` with the next group: `Ok(false)` when its order had moved on from the
    /// version it started from.
    pub(crate) async fn save(&self, change: Change) -> StoreResult<bool> {
        self.0.ask(change).await
    }
}

/// Runs [`SAVE_GROUP`] for `changes`: whether each was saved, in order.
async fn save_group(hot: &HotPath, changes: &[&Change]) -> StoreResult<Vec<bool>> {
    let texts = |f: fn(&Change) -> &str| changes.iter().map(|c| f(c)).collect::<Vec<&str>>();
    let maybe = |f: fn(&Change) -> Option<&str>| {
        changes.iter().map(|c| f(c)).collect::<Vec<Option<&str>>>()
    };
    let ints = |f: fn(&Change) -> i64| changes.iter().map(|c| f(c)).collect::<Vec<i64>>();
    let (mut line_n, mut line_no, mut picked) = (Vec::new(), Vec::new(), Vec::new());
    for (n, c) in (1i64..).zip(changes) {
        for &(no, p) in &c.lines {
            line_n.push(n);
            line_no.push(no);
            picked.push(p);
        }
    }
    let q = sqlx::query::<sqlx::Postgres>(SAVE_GROUP)
        .bind(texts(|c| &c.tenant))
        .bind(texts(|c| &c.order))
        .bind(ints(|c| c.version))
        .bind(texts(|c| c.status))
        .bind(maybe(|c| c.assigned.as_deref()))
        .bind(maybe(|c| c.package.as_deref()))
        .bind(maybe(|c| c.shipment.as_deref()))
        .bind(maybe(|c| c.cancel_reason.as_deref()))
        .bind(ints(|c| c.at))
        .bind(texts(|c| c.event.kind))
        .bind(maybe(|c| c.event.user.as_deref()))
        .bind(maybe(|c| c.event.station.as_deref()))
        .bind(texts(|c| &c.event.payload))
        .bind(line_n)
        .bind(line_no)
        .bind(picked);
    let mut saved = vec![false; changes.len()];
    for row in hot.fetch_all(q).await? {
        let n: i64 = row.try_get(0).map_err(db)?;
        match usize::try_from(n - 1).ok().and_then(|i| saved.get_mut(i)) {
            Some(s) => *s = true,
            None => {
                return Err(StoreError::Backend(
                    format!("the group's statement answered an unknown position {n}").into(),
                ));
            }
        }
    }
    Ok(saved)
}

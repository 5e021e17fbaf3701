//! PostgreSQL: auto-assign claims handed out in groups, one statement per group.
//!
//! A claim was a statement of its own (~0.3 ms of the server's time, ~40 % of it under the
//! pick/pack load: BENCHMARKS.md, session 8), most of it the statement around the work, as
//! transitions' were before `pg_group_commit`. So claims queue here: a claimer task takes every
//! claim
//! of one tenant waiting by then and hands them the tenant's oldest claimable orders with one
//! statement ([`CLAIM_GROUP`]) on a connection of its own, the first claim waiting the oldest
//! order. Orders are still taken as one claim took them: row locks skipping the orders other
//! claimers (another hub) hold, so no order goes to two, and the walk starts at the tenant's
//! claim floor (see `pg_claim_floor`). When the queue holds fewer orders than the group has claims,
//! the
//! last claims get none. If the statement fails, nothing of it was written and each claim is
//! tried again alone, so one bad claim fails only itself.

use sqlx::Row;

use packbench_core::ports::{OrderToWork, StoreError, StoreResult};

use crate::fast::grouped::{Asked, Grouped, Groups};
use crate::fast::hot_writes::Claim;
use crate::fast::pg_connections::HotPath;
use crate::rows::{self, db};
use crate::rows::{ORDER_COLUMNS_O, STOCKED};

/// Most claims answered by one statement; more wait for the next.
const MAX_GROUP: usize = 32;

/// Hands the oldest claimable orders of tenant `$1` to the claims given as arrays (`c`, its
/// position in the group as `n`): each order taken (`p`, numbered from the oldest) is updated
/// for the claim of its number, with its `assigned` event. Answers each order given, with its
/// lines and their stock flags, as `ORDER_TO_WORK` with the claim's `n`.
static CLAIM_GROUP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "with c as (
            select * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int8[])
                with ordinality as c(assigned_to, by_user, station_id, payload, at, n)
         ),
         p as (
            select order_id, row_number() over (order by created_at, order_id) as n
            from (select order_id, created_at from sales_order
                  where tenant_id = $1 and status = 'pending' and hold_reason is null
                    and (created_at, order_id) >= (
                      coalesce((select created_at from claim_floor where tenant_id = $1), -9223372036854775808),
                      coalesce((select order_id from claim_floor where tenant_id = $1), ''))
                  order by created_at, order_id
                  limit cardinality($2::text[]) for update skip locked) q
         ),
         o as (
            update sales_order s set status = 'processing', assigned_to = c.assigned_to,
                version = s.version + 1, updated_at = c.at
            from p join c on c.n = p.n
            where s.tenant_id = $1 and s.order_id = p.order_id and s.status = 'pending' and s.hold_reason is null
            returning c.n, c.by_user, c.station_id, c.payload, s.*
         ),
         e as (
            insert into order_event (tenant_id, order_id, seq, kind, user_id, station_id, payload, created_at)
            select tenant_id, order_id, version, 'assigned', by_user, station_id, payload, updated_at from o
         )
         select o.n, {ORDER_COLUMNS_O}, l.line_no, l.sku, l.barcode, l.title, l.quantity, l.picked, {STOCKED}
         from o left join order_line l on l.tenant_id = o.tenant_id and l.order_id = o.order_id
         order by o.n, l.line_no"
    )
});

/// Claims, answered in groups on the claimer's connection (one: a group at a time).
struct Claims {
    hot: HotPath,
}

impl Grouped for Claims {
    type Work = Claim;
    /// The order claimed, or `None` when the tenant's queue had none left.
    type Answer = Option<OrderToWork>;
    const TASK: &'static str = "PostgreSQL claimer";

    /// Claims of the group's tenant; other tenants' wait for a later group, in their order.
    fn joins(group: &[Asked<Self>], next: &Asked<Self>) -> bool {
        group.len() < MAX_GROUP && next.work.tenant == group[0].work.tenant
    }

    async fn run(&self, group: &[&Claim]) -> StoreResult<Vec<Option<OrderToWork>>> {
        claim_group(&self.hot, group).await
    }
}

/// Where claims queue for their group. The claimer stops with the store.
pub(crate) struct Claimer(Groups<Claims>);

impl Claimer {
    pub(crate) fn start(hot: HotPath) -> Self {
        Self(Groups::start(Claims { hot }))
    }

    /// Hands `pg_group_claim` the oldest claimable order of its tenant with the next group: `None` when
    /// there is none.
    pub(crate) async fn claim(&self, claim: Claim) -> StoreResult<Option<OrderToWork>> {
        self.0.ask(claim).await
    }
}

/// Runs [`CLAIM_GROUP`] for `claims` (all of one tenant): the order each got, in order.
async fn claim_group(hot: &HotPath, claims: &[&Claim]) -> StoreResult<Vec<Option<OrderToWork>>> {
    let Some(first) = claims.first() else {
        return Ok(Vec::new());
    };
    let payloads: Vec<String> = claims
        .iter()
        .map(|c| serde_json::json!({"user_id": c.user, "auto": true}).to_string())
        .collect();
    let q = sqlx::query::<sqlx::Postgres>(&CLAIM_GROUP)
        .bind(&first.tenant)
        .bind(claims.iter().map(|c| c.user.as_str()).collect::<Vec<_>>())
        .bind(claims.iter().map(|c| c.by.as_deref()).collect::<Vec<_>>())
        .bind(
            claims
                .iter()
                .map(|c| c.station.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(payloads)
        .bind(claims.iter().map(|c| c.at).collect::<Vec<i64>>());
    let mut orders: Vec<rows::OrderRows> = claims.iter().map(|_| Default::default()).collect();
    for row in hot.fetch_all(q).await? {
        let n: i64 = row.try_get("n").map_err(db)?;
        match usize::try_from(n - 1).ok().and_then(|i| orders.get_mut(i)) {
            Some(order) => order.add(&row, true)?,
            None => {
                return Err(StoreError::Backend(
                    format!("the claim statement answered an unknown position {n}").into(),
                ));
            }
        }
    }
    Ok(orders.into_iter().map(rows::OrderRows::into_work).collect())
}

//! The throughput layer: what makes a scan or a pack cost well under a millisecond, kept apart
//! from the plain SQL in `sql` so the rules it relies on are in one place.
//!
//! - `order_cache`: the orders being worked, as this hub last read or wrote them (an operation
//!   starts from memory; the version check in every transition keeps it honest).
//! - `hot_writes`: a transition and a claim as the hot paths write them.
//! - SQLite: `sqlite_work`, one connection on a thread of its own, whole units of work handed
//!   to it and the writes of everyone waiting committed together; `sqlite_checkpoint`, the
//!   log copied back beside the writers instead of inside a commit.
//! - PostgreSQL: `pg_connections` (connections handed back without a round trip),
//!   `pg_group_commit` (transitions committed in groups), `pg_group_claim` (auto-assign claims
//!   in groups), `pg_claim_floor` (each tenant's claim floor raised behind the claims), and
//!   `grouped`, the queue both group tasks share.

pub(crate) mod grouped;
pub(crate) mod hot_writes;
pub(crate) mod order_cache;
pub(crate) mod pg_claim_floor;
pub(crate) mod pg_connections;
pub(crate) mod pg_group_claim;
pub(crate) mod pg_group_commit;
pub(crate) mod sqlite_checkpoint;
pub(crate) mod sqlite_work;

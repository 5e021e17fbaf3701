-- The twin of PostgreSQL's 0008_claim_queue, which has nothing to do here. PostgreSQL's
-- planner walked `sales_order_created` past every order already claimed; SQLite's claim
-- walks `sales_order_queue` (tenant, status, created_at), whose pending entries are only the
-- orders still waiting (SQLite drops a claimed order's entry in the claim's own transaction),
-- and SQLite's planner picks it without statistics. PostgreSQL's fillfactor has no SQLite
-- counterpart either: SQLite rewrites a row in place.
select 1;

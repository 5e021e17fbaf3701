-- The twin of PostgreSQL's 0009_claim_floor, which has nothing to do here. PostgreSQL keeps a
-- claimed order's entry in `sales_order_pending` until a vacuum, so its claims start at a
-- floor past them; SQLite removes an index entry in the transaction that changes the row, so
-- a claim's walk starts at the oldest waiting order already.
select 1;

-- Where the auto-assign queue starts. A claim takes an order out of `sales_order_pending`,
-- but PostgreSQL keeps the order's index entry until a vacuum, so each claim walked the
-- entries of every order claimed since the last one (~190 index and heap pages, 2 ms, after
-- 20,000 claims; a third of the database's time in the load test). The floor is a key
-- (created_at, order_id) below which no order is claimable; claims start their walk there.
--
-- The rule: every claimable order (pending, not on hold) has a key >= its tenant's floor.
-- - The hub raises the floor (`crates/store/src/floor.rs`) in a transaction that first locks
--   the floor row, then, in a snapshot taken after the lock, sets it to the oldest claimable
--   order. Orders being claimed still count as pending in that snapshot, so the floor never
--   passes an order whose claim may yet fail.
-- - The trigger below lowers it whenever an order becomes claimable (inserted, released from
--   hold, or any other way), after waiting for that same lock: an order the raise could not
--   see lowers the floor again, in its own transaction, before anyone can see the order.
create table claim_floor (
    tenant_id text primary key references tenant (tenant_id) on delete cascade,
    created_at bigint not null,
    order_id text not null
);

insert into claim_floor (tenant_id, created_at, order_id)
select tenant_id, -9223372036854775808, '' from tenant;

create function claim_floor_for_new_tenant() returns trigger language plpgsql as $$
begin
    insert into claim_floor (tenant_id, created_at, order_id)
    values (new.tenant_id, -9223372036854775808, '');
    return null;
end $$;

create trigger tenant_claim_floor after insert on tenant
    for each row execute function claim_floor_for_new_tenant();

create function claim_floor_lower() returns trigger language plpgsql as $$
begin
    -- Waits for a raise in progress; the next statement's snapshot then has its floor.
    perform 1 from claim_floor where tenant_id = new.tenant_id for update;
    update claim_floor set created_at = new.created_at, order_id = new.order_id
    where tenant_id = new.tenant_id and (created_at, order_id) > (new.created_at, new.order_id);
    return null;
end $$;

create trigger sales_order_claimable
    after insert or update of status, hold_reason, created_at on sales_order
    for each row when (new.status = 'pending' and new.hold_reason is null)
    execute function claim_floor_lower();

-- Where each tenant's last complete import from its shop got to (cleared with its orders).
create table sync_state (
    tenant_id   text primary key,
    watermark   integer not null
);

-- Each shipped order's report to the shop: pending, synced or failed (with the reason).
create table shop_push (
    tenant_id       text not null,
    order_id        text not null,
    state           text not null,
    reason          text,
    fulfillment_id  text,
    updated_at      integer not null,
    primary key (tenant_id, order_id)
);

-- Where each tenant's last complete import from its shop got to (cleared with its orders).
create table sync_state (
    tenant_id   text primary key,
    watermark   bigint not null
);

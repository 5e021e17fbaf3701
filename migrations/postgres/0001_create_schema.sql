-- Packbench schema (PostgreSQL dialect). The same schema as migrations/sqlite/0001.
-- Every tenant-owned table leads its keys with tenant_id, so a hub can shard by tenant.
-- Timestamps are milliseconds since the Unix epoch (UTC).

create table tenant (
    tenant_id   text primary key,
    slug        text not null unique,
    name        text not null,
    stock_seq   bigint not null default 0,
    created_at  bigint not null
);

create table app_user (
    tenant_id      text not null references tenant (tenant_id),
    user_id        text not null,
    username       text not null,
    password_hash  text not null,
    role           text not null check (role in ('admin', 'operator')),
    created_at     bigint not null,
    primary key (tenant_id, user_id),
    unique (tenant_id, username)
);

create table login_failure (
    tenant_id     text not null references tenant (tenant_id),
    username      text not null,
    failures      bigint not null,
    locked_until  bigint,
    primary key (tenant_id, username)
);

create table session (
    tenant_id   text not null references tenant (tenant_id),
    token_hash  text not null,
    user_id     text not null,
    station_id  text,
    created_at  bigint not null,
    expires_at  bigint not null,
    revoked_at  bigint,
    primary key (tenant_id, token_hash)
);

create table sales_order (
    tenant_id      text not null references tenant (tenant_id),
    order_id       text not null,
    name           text not null,
    external_id    text,
    status         text not null,
    version        bigint not null,
    assigned_to    text,
    customer_name  text,
    ship_to        text,
    package        text,
    shipment_id    text,
    cancel_reason  text,
    created_at     bigint not null,
    updated_at     bigint not null,
    primary key (tenant_id, order_id)
);
create unique index sales_order_external on sales_order (tenant_id, external_id);
create index sales_order_queue on sales_order (tenant_id, status, created_at, order_id);
create index sales_order_created on sales_order (tenant_id, created_at, order_id);

create table order_line (
    tenant_id  text not null,
    order_id   text not null,
    line_no    bigint not null,
    sku        text not null,
    sku_key    text not null,
    barcode    text,
    title      text not null,
    quantity   bigint not null check (quantity > 0),
    picked     bigint not null check (picked >= 0 and picked <= quantity),
    primary key (tenant_id, order_id, line_no)
);
create index order_line_sku on order_line (tenant_id, sku_key);

create table order_event (
    tenant_id   text not null,
    order_id    text not null,
    seq         bigint not null,
    kind        text not null,
    user_id     text,
    station_id  text,
    payload     text not null,
    created_at  bigint not null,
    primary key (tenant_id, order_id, seq)
);

create table shipment (
    tenant_id           text not null references tenant (tenant_id),
    shipment_id         text not null,
    order_id            text,
    status              text not null,
    carrier             text not null,
    service             text not null,
    tracking_number     text,
    estimated_delivery  text,
    package             text not null,
    ship_to             text,
    created_at          bigint not null,
    updated_at          bigint not null,
    primary key (tenant_id, shipment_id)
);
create index shipment_order on shipment (tenant_id, order_id);
create index shipment_created on shipment (tenant_id, created_at, shipment_id);

create table label (
    tenant_id    text not null,
    shipment_id  text not null,
    format       text not null,
    content      bytea not null,
    primary key (tenant_id, shipment_id, format)
);

create table tenant_setting (
    tenant_id   text primary key references tenant (tenant_id),
    document    text not null,
    updated_at  bigint not null
);

create table device_setting (
    tenant_id   text not null references tenant (tenant_id),
    station_id  text not null,
    document    text not null,
    updated_at  bigint not null,
    primary key (tenant_id, station_id)
);

create table stock (
    tenant_id   text not null references tenant (tenant_id),
    sku_key     text not null,
    sku         text not null,
    location    text not null,
    on_hand     bigint not null,
    updated_at  bigint not null,
    primary key (tenant_id, sku_key, location)
);

create table stock_event (
    tenant_id    text not null,
    seq          bigint not null,
    sku          text not null,
    location     text not null,
    delta        bigint not null,
    on_hand      bigint not null,
    cause        text not null,
    order_id     text,
    shipment_id  text,
    user_id      text,
    created_at   bigint not null,
    primary key (tenant_id, seq)
);
create index stock_event_shipment on stock_event (tenant_id, shipment_id);

create table idempotency_key (
    tenant_id    text not null,
    idem_key     text not null,
    user_id      text not null,
    fingerprint  text not null,
    status_code  bigint,
    response     bytea,
    created_at   bigint not null,
    primary key (tenant_id, idem_key)
);

-- Each SKU's unit weight, for weighing packed boxes against their items
-- (crates/core/src/weighing.rs): the shop's variant weight, read on import, or one entered on
-- the stock screen at the bench, which an import never replaces. `weight` is in `unit`
-- (lb, oz, kg or g), as it was given.
create table sku_weight (
    tenant_id   text not null references tenant (tenant_id),
    sku_key     text not null,
    sku         text not null,
    weight      double precision not null check (weight > 0),
    unit        text not null check (unit in ('lb', 'oz', 'kg', 'g')),
    source      text not null check (source in ('shop', 'bench')),
    updated_at  bigint not null,
    primary key (tenant_id, sku_key)
);

-- A fulfillment order the shop holds (ON_HOLD) is imported but cannot be assigned until released.
alter table sales_order add column hold_reason text;

// The hub's REST API as the station sees it (DESIGN.md §4; the seed's contract). Field names
// are the wire's own (snake_case) so nothing is renamed on the way in or out.

export type OrderStatus =
  | 'pending' | 'processing' | 'picked' | 'packed' | 'shipped' | 'delivered' | 'cancelled';

export const ORDER_STATUSES: readonly OrderStatus[] = [
  'pending', 'processing', 'picked', 'packed', 'shipped', 'delivered', 'cancelled',
];

export type Role = 'admin' | 'operator';

export interface User {
  id: string;
  username: string;
  role: Role;
  display_name?: string | null;
}

export interface Session {
  token: string;
  expires_at: string;
  user: User;
  station_id: string | null;
  tenant: string;
}

export interface Capabilities {
  role: Role;
  permissions: string[];
}

export type WeightUnit = 'lb' | 'oz' | 'kg' | 'g';
export type DimensionUnit = 'in' | 'cm';

export interface Weight { value: number; unit: WeightUnit }
export interface Dimensions { length: number; width: number; height: number; unit: DimensionUnit }
export interface Package { weight: Weight; dimensions: Dimensions | null; box: string | null }

export interface Address {
  name?: string | null;
  company?: string | null;
  lines: string[];
  city?: string | null;
  state?: string | null;
  postal_code?: string | null;
  country?: string | null;
  phone?: string | null;
}

export interface OrderSummary {
  id: string;
  name: string;
  status: OrderStatus;
  customer_name: string | null;
  assigned_to: string | null;
  line_count: number;
  units: number;
  picked_units: number;
  created_at: string;
  updated_at: string;
}

export interface OrderLine {
  line_no: number;
  sku: string;
  barcode: string | null;
  title: string;
  quantity: number;
  picked: number;
  remaining: number;
  location?: string | null;
  /** in_stock, low_stock, out_of_stock, untracked */
  stock?: string | null;
  on_hand?: number | null;
}

export interface OrderEventView {
  seq: number;
  kind: string;
  user_id: string | null;
  station_id: string | null;
  payload: unknown;
  at: string;
}

export type ShipmentStatus = string;

export interface Shipment {
  id: string;
  order_id: string | null;
  status: ShipmentStatus;
  tracking_number: string | null;
  carrier: string;
  service: ServiceCode;
  label_url: string;
  estimated_delivery: string | null;
  package: Package;
  created_at: string;
  updated_at: string;
  tracking_events?: TrackingEvent[];
  order_status?: OrderStatus | null;
  /** When the label was scanned onto its box (stations that ask for it); null if never. */
  boxed_at?: string | null;
  /** The boxes after the first, each with its own tracking number and label. */
  more_packages?: ShipmentBox[];
}

/** A box of a shipment after the first. */
export interface ShipmentBox { package: number; tracking_number: string | null; weight: Weight; box: string | null; boxed_at: string | null; label_url: string }

export interface TrackingEvent {
  kind: string;
  code: string | null;
  description: string;
  location: string | null;
  at: string;
}

export interface Order {
  id: string;
  name: string;
  status: OrderStatus;
  version: number;
  external_id: string | null;
  customer_name: string | null;
  ship_to: Address | null;
  assigned_to: string | null;
  package: Package | null;
  shipment_id: string | null;
  cancel_reason: string | null;
  label_url: string | null;
  created_at: string;
  updated_at: string;
  lines: OrderLine[];
  shipments?: Shipment[];
  events?: OrderEventView[];
  hold?: string | null;
  review?: unknown;
  /** The boxes after the first, when packed into several. */
  more_boxes?: Package[];
  /** On the order's detail: what its items should weigh, before the box. */
  expected_weight?: ExpectedWeight;
}

/** What an order's items should weigh (`items` null when a SKU's weight is not known). */
export interface ExpectedWeight { checked: boolean; unit: 'lb' | 'oz' | 'kg' | 'g'; items: number | null; unknown_skus: string[] }

/** A box weighed against its expected weight (a held pack's `details.weight`, a pack event's `weight`). */
export interface Weighing {
  verdict: 'within' | 'held' | 'unknown';
  unit: 'lb' | 'oz' | 'kg' | 'g';
  expected: number | null; actual: number; difference: number | null; allowed: number | null;
  tare: number; unknown_skus: string[]; hint: string | null;
}

/** One SKU's unit weight (`GET/PATCH inventory/weights`). */
export interface SkuWeight { sku: string; weight: { value: number; unit: 'lb' | 'oz' | 'kg' | 'g' }; source: 'shop' | 'bench'; updated_at: string }

export type ServiceCode = 'ground' | '3day' | '2day' | 'next_day';

export const SERVICES: readonly { code: ServiceCode; name: string }[] = [
  { code: 'ground', name: 'UPS Ground' },
  { code: '3day', name: 'UPS 3 Day Select' },
  { code: '2day', name: 'UPS 2nd Day Air' },
  { code: 'next_day', name: 'UPS Next Day Air' },
];

export interface Rate {
  service: ServiceCode;
  carrier_service_code: string;
  amount: string;
  currency: string;
  transit_days: number | null;
}

export interface AddressCheck {
  /** valid, ambiguous, invalid, not_checked */
  verdict: string;
  candidates: Address[];
}

export interface PickItem { sku?: string; barcode?: string; quantity?: number }

export type Operation =
  | { action: 'assign'; user_id?: string | null }
  | { action: 'pick'; items: PickItem[] }
  | { action: 'pack'; package: PackageInput; more_packages?: PackageInput[]; override_reason?: string }
  | { action: 'ship'; service: ServiceCode; package?: PackageInput; override_reason?: string }
  | { action: 'void' }
  | { action: 'cancel'; reason: string };

export interface PackageInput {
  weight: number;
  weight_unit?: WeightUnit;
  dimensions?: { length: number; width: number; height: number; unit?: DimensionUnit };
  box?: string;
  /** The empty box's weight, in the weight's unit: added to what the items should weigh. */
  tare?: number;
}

export interface ShipResult {
  order_id: string;
  status: OrderStatus;
  shipment: {
    id: string;
    tracking_number: string | null;
    carrier: string;
    service: ServiceCode;
    label_url: string;
    estimated_delivery: string | null;
  };
}

export interface Page<T> { data: T[]; next_cursor: string | null }

export interface OrderQuery {
  status?: OrderStatus;
  q?: string;
  sku?: string;
  assigned_to?: string;
  limit?: number;
  cursor?: string;
}

export type StatusCounts = Record<OrderStatus, number>;

export interface BatchShipResult {
  order_id: string;
  ok: boolean;
  skipped?: string | null;
  shipment_id?: string;
  tracking_number?: string;
  error?: { code: string; message: string; retryable?: boolean } | null;
}

export interface PickListOrder { order_id: string; order_name: string; quantity: number }

export interface PickListEntry {
  location: string | null;
  sku: string;
  title: string;
  barcode: string | null;
  quantity: number;
  stock: string;
  orders: PickListOrder[];
}

export interface PickList { orders: PickListOrder[]; entries: PickListEntry[]; total_units: number }

/** Business settings (`GET/PATCH settings`); secrets are write-only and come back as flags. */
export type Settings = Record<string, unknown>;

/** A privacy request from the shop (GDPR/CCPA webhooks) and what became of it. */
export interface PrivacyRequest {
  id: string;
  kind: 'customer_data_request' | 'customer_redact' | 'shop_redact';
  customer_id: string | null;
  shop_order_ids: string[];
  received_at: string;
  /** null while a redaction waits for orders still on their way. */
  completed_at: string | null;
  /** Data request: `{orders: [...]}`; redaction: `{erased: names, waiting: names}`. */
  result: { orders?: Record<string, unknown>[]; erased?: string[]; waiting?: string[] } | null;
}

/** A box the station packs into; `tare` is the empty box's weight, in the tenant's weight unit. */
export interface BoxPreset { name: string; length: number; width: number; height: number; tare?: number }

/** A station's devices (`GET/POST device-settings`; the station keeps this document). */
export interface DeviceSettings {
  station_id: string;
  scale?: string | null;
  printer?: string | null;
  slip_printer?: string | null;
  scanner?: string | null;
  label_format?: 'zpl' | 'png' | 'pdf';
  dpi?: 203 | 300;
  darkness?: number | null;
  auto_print?: boolean;
  boxes?: BoxPreset[];
  /** After printing, the packer scans the label on the box before the next order. */
  label_to_box?: boolean;
}

/** What `GET events` pushes. */
export type LiveEvent =
  | { type: 'order_changed'; order_id: string; status: OrderStatus; event: string }
  | { type: 'stock_changed'; sku: string; location: string; on_hand: number; cause: string }
  | { type: 'orders_cleared'; count: number }
  | { type: 'batch_progress'; batch_id: string; kind: string; done: number; failed: number; total: number }
  | { type: 'shop_cancelled_shipped'; order_id: string; name: string }
  | { type: 'tracking_exception'; order_id: string; shipment_id: string; description: string }
  | { type: 'lagged' }
  | { type: 'sync_progress'; [k: string]: unknown };

/** Stock of one SKU at one location (`GET inventory`). */
export interface StockLevel { sku: string; location: string; on_hand: number; updated_at?: string }

/** One change of `PATCH inventory`: set `on_hand`, or adjust by `delta`. */
export interface StockChange { sku: string; location: string; on_hand?: number; delta?: number }

/** A label outside the normal flow (`POST shipments`): a replacement, or a typed address. */
export interface NewShipment { order_id?: string; service: ServiceCode; package: PackageInput; ship_to?: Address }

/** A label of the end of day. */
export interface DayLabel {
  shipment_id: string; order_id: string | null; order_name: string | null; tracking_number: string | null;
  service: ServiceCode; status: ShipmentStatus; boxed_at: string | null; created_at: string; updated_at: string; label_url: string;
}

/** `GET end-of-day`: the day's labels and what leaves per service. */
export interface EndOfDay {
  date: string; from: string; to: string; parcels: number;
  per_service: { service: ServiceCode; name: string; parcels: number; voided: number }[];
  bought: DayLabel[]; not_boxed: DayLabel[]; voided: DayLabel[];
}

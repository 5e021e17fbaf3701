// What the station needs from a hub. The screens only see this interface; `HttpBackend` is the
// real one (the REST API), and tests may drive the screens through it against a real hub.
import type {
  AddressCheck, BatchShipResult, Capabilities, DeviceSettings, LiveEvent, Operation,
  NewShipment, Order, OrderQuery, OrderSummary, PackageInput, Page, PickList, PrivacyRequest, Rate, Session, Settings, Shipment,
  EndOfDay, SkuWeight, StockChange, StockLevel,
  ServiceCode, StatusCounts,
} from './types';

export interface BatchShipAnswer {
  total: number;
  shipped: number;
  skipped: number;
  failed: number;
  results: BatchShipResult[];
}

export interface BatchSyncAnswer {
  total: number;
  synced: number;
  failed: number;
  results: { order_id: string; ok: boolean; error?: { code: string; message: string } }[];
}

export interface Backend {
  readonly tenant: string;
  /** Absolute URL of a hub path (labels, PDFs) that an <img> or a new window can load. */
  url(path: string): string;
  /** Bytes of a hub path with the session's credentials (label images for the printer). */
  bytes(path: string): Promise<Uint8Array>;

  login(username: string, password: string, stationId?: string): Promise<Session>;
  logout(): Promise<void>;
  me(): Promise<{ user: Session['user']; station_id: string | null; tenant: string }>;
  capabilities(): Promise<Capabilities>;

  orders(query: OrderQuery): Promise<Page<OrderSummary>>;
  counts(): Promise<StatusCounts>;
  order(id: string): Promise<Order>;
  claimNext(): Promise<Order>;
  /** Someone checked an order the shop edited after picking started. */
  clearReview(orderId: string): Promise<unknown>;
  operate(orderId: string, op: Operation, idempotencyKey?: string): Promise<unknown>;

  shipments(query: { order_id?: string; status?: string; boxed?: 'true' | 'false'; limit?: number; cursor?: string }): Promise<Page<Shipment>>;
  shipment(id: string): Promise<Shipment>;
  track(id: string): Promise<Shipment>;
  rates(orderId: string, pkg: PackageInput): Promise<Rate[]>;
  checkAddress(orderId: string): Promise<AddressCheck>;

  sync(): Promise<Record<string, unknown>>;
  pickList(orderIds?: string[]): Promise<PickList>;
  pickListPdf(orderIds?: string[]): Promise<Uint8Array>;
  batchShip(orderIds: string[] | undefined, service: ServiceCode): Promise<BatchShipAnswer>;
  batchSync(orderIds?: string[]): Promise<BatchSyncAnswer>;

  settings(): Promise<Settings>;
  patchSettings(patch: Settings): Promise<Settings>;
  /** Admin: the shop's privacy requests, newest first. */
  privacyRequests(): Promise<PrivacyRequest[]>;
  deviceSettings(stationId: string): Promise<DeviceSettings>;
  saveDeviceSettings(stationId: string, settings: Partial<DeviceSettings>): Promise<DeviceSettings>;

  createShipment(s: NewShipment): Promise<Shipment>;
  /** Admin: deletes all the tenant's order data (orders, shipments, labels, events). */
  clearOrders(): Promise<{ deleted_orders: number }>;

  inventory(q: { sku?: string; location?: string }): Promise<StockLevel[]>;
  changeInventory(changes: StockChange[], reason?: string): Promise<unknown>;
  inventoryEvents(q: { after?: number; limit?: number }): Promise<Page<Record<string, unknown>>>;
  /** The day's labels at the dock, in the warehouse's time (`+01:00`). */
  endOfDay(date: string, utcOffset: string): Promise<EndOfDay>;
  /** The label scanned on the box that should carry this shipment's: refused (`wrong_label`) if it is another. */
  boxScan(shipmentId: string, code: string): Promise<Shipment>;
  /** Each SKU's unit weight (from the shop, or weighed at the bench). */
  skuWeights(): Promise<SkuWeight[]>;
  /** Sets unit weights weighed at the bench; `null` forgets one. Admin. */
  setSkuWeights(weights: { sku: string; weight: number | null; unit?: string }[]): Promise<SkuWeight[]>;
  exportInventory(): Promise<string>;
  importInventory(csv: string): Promise<unknown>;

  /** Live events until `signal` aborts; reconnects by itself. */
  events(onEvent: (e: LiveEvent) => void, signal: AbortSignal, onState?: (connected: boolean) => void): void;
}

// The Backend over the hub's REST API. Works same-origin (a browser station served by
// `packbench serve`) and cross-origin (the desktop window calling its in-process hub or a
// connected hub): every call carries the session's bearer token, and live events come over a
// fetch stream rather than EventSource so the token goes with them too.
import type { Backend, BatchShipAnswer, BatchSyncAnswer } from './backend';
import { ApiError, OfflineError } from './errors';
import { SseParser } from './sse';
import type {
  AddressCheck, Capabilities, DeviceSettings, LiveEvent, NewShipment, Operation, Order, OrderQuery,
  OrderSummary, PackageInput, Page, PickList, PrivacyRequest, Rate, ServiceCode, Session, Settings, Shipment,
  EndOfDay, SkuWeight, StatusCounts, StockChange, StockLevel,
} from './types';

type Query = Record<string, string | number | undefined>;

function qs(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export class HttpBackend implements Backend {
  private token: string | null;

  /** `hub` is the hub's origin ('' for the page's own origin). */
  constructor(readonly hub: string, readonly tenant: string, token: string | null = null) {
    this.token = token;
  }

  get sessionToken(): string | null { return this.token; }

  url(path: string): string {
    return path.startsWith('http') ? path : `${this.hub}${path}`;
  }

  private api(path: string): string {
    return `${this.hub}/api/${encodeURIComponent(this.tenant)}/${path}`;
  }

  private headers(extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.token) h['authorization'] = `Bearer ${this.token}`;
    return h;
  }

  /** One call; `body` goes as JSON unless `raw` gives a text body and its type (CSV). */
  private async send(method: string, url: string, body?: unknown, extra?: Record<string, string>, raw?: { text: string; type: string }): Promise<Response> {
    let res: Response;
    const type = raw ? raw.type : body === undefined ? null : 'application/json';
    try {
      res = await fetch(url, {
        method,
        headers: this.headers(type ? { 'content-type': type, ...extra } : extra),
        body: raw ? raw.text : body === undefined ? null : JSON.stringify(body),
        credentials: this.hub ? 'omit' : 'same-origin',
      });
    } catch (e) {
      throw new OfflineError(e);
    }
    if (!res.ok) {
      let code = 'http_' + res.status;
      let message = res.statusText || `HTTP ${res.status}`;
      let details: Record<string, unknown> | undefined;
      try {
        const j = (await res.json()) as { error?: { code?: string; message?: string; details?: Record<string, unknown> } };
        if (j.error) {
          code = j.error.code ?? code;
          message = j.error.message ?? message;
          details = j.error.details;
        }
      } catch { /* not JSON: keep the status line */ }
      throw new ApiError(res.status, code, message, details);
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown, extra?: Record<string, string>): Promise<T> {
    const res = await this.send(method, this.api(path), body, extra);
    const j = (await res.json()) as { data: T };
    return j.data;
  }

  async bytes(path: string): Promise<Uint8Array> {
    const res = await this.send('GET', this.url(path));
    return new Uint8Array(await res.arrayBuffer());
  }

  async login(username: string, password: string, stationId?: string): Promise<Session> {
    const body: Record<string, string> = { username, password };
    if (stationId) body['station_id'] = stationId;
    const s = await this.json<Session>('POST', 'auth/login', body);
    this.token = s.token;
    return s;
  }

  async logout(): Promise<void> {
    try { await this.json('POST', 'auth/logout', {}); } finally { this.token = null; }
  }

  me() { return this.json<{ user: Session['user']; station_id: string | null; tenant: string }>('GET', 'auth/me'); }
  capabilities() { return this.json<Capabilities>('GET', 'capabilities'); }

  async orders(q: OrderQuery): Promise<Page<OrderSummary>> {
    const res = await this.send('GET', this.api('orders' + qs({ ...q })));
    return (await res.json()) as Page<OrderSummary>;
  }
  counts() { return this.json<StatusCounts>('GET', 'orders/counts'); }
  order(id: string) { return this.json<Order>('GET', `orders/${encodeURIComponent(id)}`); }
  claimNext() { return this.json<Order>('POST', 'orders/claim', {}); }
  clearReview(orderId: string) { return this.json<unknown>('DELETE', `orders/${encodeURIComponent(orderId)}/review`); }
  operate(orderId: string, op: Operation, idempotencyKey?: string) {
    return this.json<unknown>('POST', `orders/${encodeURIComponent(orderId)}/operations`, op,
      idempotencyKey ? { 'idempotency-key': idempotencyKey } : undefined);
  }

  async shipments(q: { order_id?: string; status?: string; boxed?: 'true' | 'false'; limit?: number; cursor?: string }): Promise<Page<Shipment>> {
    const res = await this.send('GET', this.api('shipments' + qs(q)));
    return (await res.json()) as Page<Shipment>;
  }
  shipment(id: string) { return this.json<Shipment>('GET', `shipments/${encodeURIComponent(id)}`); }
  track(id: string) { return this.json<Shipment>('POST', `shipments/${encodeURIComponent(id)}/track`, {}); }
  rates(orderId: string, pkg: PackageInput) { return this.json<Rate[]>('POST', 'rates', { order_id: orderId, package: pkg }); }
  checkAddress(orderId: string) { return this.json<AddressCheck>('POST', 'address-checks', { order_id: orderId }); }

  sync() { return this.json<Record<string, unknown>>('POST', 'sync', {}); }
  pickList(orderIds?: string[]) {
    return this.json<PickList>('POST', 'batches/pick-list', orderIds ? { order_ids: orderIds } : {});
  }
  async pickListPdf(orderIds?: string[]): Promise<Uint8Array> {
    const body: Record<string, unknown> = { format: 'pdf' };
    if (orderIds) body['order_ids'] = orderIds;
    const res = await this.send('POST', this.api('batches/pick-list'), body);
    return new Uint8Array(await res.arrayBuffer());
  }
  batchShip(orderIds: string[] | undefined, service: ServiceCode) {
    const body: Record<string, unknown> = { service };
    if (orderIds) body['order_ids'] = orderIds;
    return this.json<BatchShipAnswer>('POST', 'batches/ship', body);
  }
  batchSync(orderIds?: string[]) {
    return this.json<BatchSyncAnswer>('POST', 'batches/sync', orderIds ? { order_ids: orderIds } : {});
  }

  createShipment(n: NewShipment) { return this.json<Shipment>('POST', 'shipments', n); }
  clearOrders() { return this.json<{ deleted_orders: number }>('DELETE', 'sync'); }

  inventory(q: { sku?: string; location?: string }) { return this.json<StockLevel[]>('GET', 'inventory' + qs(q)); }
  changeInventory(changes: StockChange[], reason?: string) {
    return this.json<unknown>('PATCH', 'inventory', reason ? { changes, reason } : { changes });
  }
  async inventoryEvents(q: { after?: number; limit?: number }): Promise<Page<Record<string, unknown>>> {
    const res = await this.send('GET', this.api('inventory/events' + qs(q)));
    return (await res.json()) as Page<Record<string, unknown>>;
  }
  endOfDay(date: string, utcOffset: string) { return this.json<EndOfDay>('GET', 'end-of-day' + qs({ date, utc_offset: utcOffset })); }
  boxScan(shipmentId: string, code: string) {
    return this.json<Shipment>('POST', `shipments/${encodeURIComponent(shipmentId)}/box-scan`, { code });
  }
  skuWeights() { return this.json<SkuWeight[]>('GET', 'inventory/weights'); }
  setSkuWeights(weights: { sku: string; weight: number | null; unit?: string }[]) {
    return this.json<SkuWeight[]>('PATCH', 'inventory/weights', { weights });
  }
  async exportInventory(): Promise<string> {
    const res = await this.send('GET', this.api('inventory/export'));
    return res.text();
  }
  async importInventory(csv: string): Promise<unknown> {
    const res = await this.send('POST', this.api('inventory/import'), undefined, undefined, { text: csv, type: 'text/csv' });
    return ((await res.json()) as { data: unknown }).data;
  }

  settings() { return this.json<Settings>('GET', 'settings'); }
  patchSettings(patch: Settings) { return this.json<Settings>('PATCH', 'settings', patch); }
  privacyRequests() { return this.json<PrivacyRequest[]>('GET', 'privacy-requests'); }
  async deviceSettings(stationId: string): Promise<DeviceSettings> {
    const d = await this.json<{ station_id: string; settings: DeviceSettings }>('GET', 'device-settings' + qs({ station_id: stationId }));
    return { ...d.settings, station_id: d.station_id };
  }
  async saveDeviceSettings(stationId: string, settings: Partial<DeviceSettings>): Promise<DeviceSettings> {
    const d = await this.json<{ station_id: string; settings: DeviceSettings }>('POST', 'device-settings', { station_id: stationId, settings });
    return { ...d.settings, station_id: d.station_id };
  }

  events(onEvent: (e: LiveEvent) => void, signal: AbortSignal, onState?: (connected: boolean) => void): void {
    const run = async () => {
      let delay = 500;
      while (!signal.aborted) {
        try {
          const res = await fetch(this.api('events'), {
            headers: { ...this.headers(), accept: 'text/event-stream' },
            credentials: this.hub ? 'omit' : 'same-origin',
            signal,
          });
          if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
          onState?.(true);
          delay = 500;
          const parser = new SseParser();
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const m of parser.push(value)) {
              if (m.event === 'lagged') { onEvent({ type: 'lagged' }); continue; }
              try { onEvent(JSON.parse(m.data) as LiveEvent); } catch { /* not ours */ }
            }
          }
        } catch {
          if (signal.aborted) return;
        }
        onState?.(false);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    };
    void run();
  }
}

import type { Address, OrderStatus, Weight } from '../api/types';

export const STATUS_WORDS: Record<OrderStatus, string> = {
  pending: 'Waiting', processing: 'Picking', picked: 'Picked', packed: 'Packed',
  shipped: 'Shipped', delivered: 'Delivered', cancelled: 'Cancelled',
};

export function weight(w: Weight | null | undefined): string {
  if (!w) return '—';
  const digits = w.unit === 'g' ? 0 : 2;
  return `${w.value.toFixed(digits)} ${w.unit}`;
}

const GRAMS: Record<Weight['unit'], number> = { lb: 453.59237, oz: 28.349523125, kg: 1000, g: 1 };

/** `value` in `from` units, said in `to` units. */
export function convertWeight(value: number, from: Weight['unit'], to: Weight['unit']): number {
  return (value * GRAMS[from]) / GRAMS[to];
}

export function address(a: Address | null | undefined): string[] {
  if (!a) return ['No ship-to address'];
  const out: string[] = [];
  if (a.name) out.push(a.name);
  if (a.company) out.push(a.company);
  out.push(...a.lines);
  out.push([a.city, a.state, a.postal_code].filter(Boolean).join(' '));
  if (a.country) out.push(a.country);
  return out.filter((l) => l.trim() !== '');
}

export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function money(amount: string | number | undefined, currency: string | undefined): string {
  if (amount === undefined) return '—';
  const n = typeof amount === 'number' ? amount : Number(amount);
  if (!Number.isFinite(n)) return String(amount);
  try { return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'USD' }).format(n); } catch { return `${n.toFixed(2)} ${currency ?? ''}`; }
}

/** A fresh idempotency key for one action the packer takes (retries reuse it). */
export function actionKey(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

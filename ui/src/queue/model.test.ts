import { describe, expect, it } from 'vitest';
import { Queue, summarise } from './model';
import type { Order, OrderStatus, OrderSummary } from '../api/types';

function order(i: number, status: OrderStatus, extra: Partial<OrderSummary> = {}): OrderSummary {
  return {
    id: `ord_${i}`, name: `#${1000 + i}`, status, customer_name: `Customer ${i}`, assigned_to: null,
    line_count: 1, units: 1, picked_units: 0,
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), updated_at: '2026-01-01T00:00:00Z', ...extra,
  };
}

describe('the order queue', () => {
  const q = new Queue();
  q.putAll([order(3, 'pending'), order(1, 'packed'), order(2, 'shipped'), order(4, 'processing', { assigned_to: 'usr_me' })]);
  it('shows open orders oldest first', () => {
    expect(q.filter({ status: 'open', text: '', mine: null }).map((o) => o.id)).toEqual(['ord_1', 'ord_3', 'ord_4']);
  });
  it('filters by status, by me, by text', () => {
    expect(q.filter({ status: 'shipped', text: '', mine: null }).map((o) => o.id)).toEqual(['ord_2']);
    expect(q.filter({ status: 'open', text: '', mine: 'usr_me' }).map((o) => o.id)).toEqual(['ord_4']);
    expect(q.filter({ status: 'open', text: 'customer 3', mine: null }).map((o) => o.id)).toEqual(['ord_3']);
    expect(q.filter({ status: 'open', text: '#1001', mine: null }).map((o) => o.id)).toEqual(['ord_1']);
  });
  it('finds a scanned order by name with or without # and by id', () => {
    expect(q.find('1003')?.id).toBe('ord_3');
    expect(q.find('#1003')?.id).toBe('ord_3');
    expect(q.find('ord_4')?.id).toBe('ord_4');
    expect(q.find('9999')).toBeUndefined();
  });
  it('a live update replaces the row and moves it between filters', () => {
    q.put(order(3, 'cancelled'));
    expect(q.filter({ status: 'open', text: '', mine: null }).map((o) => o.id)).toEqual(['ord_1', 'ord_4']);
    expect(q.counts().cancelled).toBe(1);
  });
  it('summarises a full order the way the list does', () => {
    const full = { id: 'ord_9', name: '#9', status: 'processing', customer_name: null, assigned_to: null, created_at: 'a', updated_at: 'b',
      lines: [{ quantity: 2, picked: 1 }, { quantity: 3, picked: 0 }] } as unknown as Order;
    expect(summarise(full)).toMatchObject({ line_count: 2, units: 5, picked_units: 1 });
  });
  it('searches 10,000 orders by any part of the customer name (speed: BENCHMARKS.md)', () => {
    const big = new Queue();
    for (let i = 0; i < 10_000; i++) big.put(order(i, (['pending', 'processing', 'picked', 'packed'] as const)[i % 4] ?? 'pending'));
    const hits = big.filter({ status: 'open', text: 'customer 99', mine: null });
    expect(hits.length).toBe(111); // 99, 990-999, 9900-9999
    expect(hits[0]?.id).toBe('ord_99');
  });
});

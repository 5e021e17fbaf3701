import { useEffect, useState } from 'preact/hooks';
import type { BatchShipAnswer, BatchSyncAnswer } from '../api/backend';
import type { OrderSummary, PickList, ServiceCode } from '../api/types';
import { SERVICES } from '../api/types';
import { useStation } from '../station';
import { printLabels } from '../lib/labels';

interface Progress { kind: string; done: number; failed: number; total: number }

export function BatchesScreen() {
  const st = useStation();
  const [packed, setPacked] = useState<OrderSummary[]>([]);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [service, setService] = useState<ServiceCode>('ground');
  const [progress, setProgress] = useState<Progress | null>(null);
  const [shipAnswer, setShipAnswer] = useState<BatchShipAnswer | null>(null);
  const [syncAnswer, setSyncAnswer] = useState<BatchSyncAnswer | null>(null);
  const [importAnswer, setImportAnswer] = useState<Record<string, unknown> | null>(null);
  const [pickList, setPickList] = useState<PickList | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const loadPacked = () => st.backend.orders({ status: 'packed', limit: 500 }).then((p) => { setPacked(p.data); setPicked(new Set(p.data.map((o) => o.id))); }, st.fail);
  useEffect(() => { void loadPacked(); }, []);
  useEffect(() => st.onLive((e) => { if (e.type === 'batch_progress') setProgress({ kind: e.kind, done: e.done, failed: e.failed, total: e.total }); }), []);

  const run = async <T,>(name: string, work: () => Promise<T>, done: (t: T) => void) => {
    setBusy(name); setProgress(null);
    try { done(await work()); } catch (e) { st.fail(e); } finally { setBusy(null); }
  };

  // Labels bought in a batch print in order, like those bought one by one.
  const printAll = async (a: BatchShipAnswer) => {
    if (st.deviceSettings.auto_print === false) return;
    for (const r of a.results) {
      if (!r.ok || r.skipped || !r.shipment_id) continue;
      // Every box's label: an order packed into several boxes has one each.
      try { await printLabels(st, await st.backend.shipment(r.shipment_id)); } catch (e) { st.fail(e); return; }
    }
  };

  const ids = packed.filter((o) => picked.has(o.id)).map((o) => o.id);
  const toggle = (id: string) => setPicked((s) => { const n = new Set(s); if (n.has(id)) n.delete(id); else n.add(id); return n; });

  return (
    <section class="batches">
      <h1>Batches</h1>
      <div class="grid2">
        <div class="card">
          <h2>Import from Shopify</h2>
          <p class="muted">Fetch new and changed orders now (the hub also does this by itself).</p>
          <button class="primary big" disabled={busy !== null || !st.can('sync.run')} data-testid="sync-shopify"
            onClick={() => run('import', () => st.backend.sync(), (a) => { setImportAnswer(a); st.notify('Shopify import finished'); })}>{busy === 'import' ? 'Importing…' : 'Import orders'}</button>
          {importAnswer && <dl class="facts" data-testid="sync-result">{Object.entries(importAnswer).filter(([, v]) => typeof v !== 'object').map(([k, v]) => <><dt>{k.replace(/_/g, ' ')}</dt><dd>{String(v)}</dd></>)}</dl>}
        </div>
        <div class="card">
          <h2>Pick list</h2>
          <p class="muted">Every open unpicked order's items, in shelf order.</p>
          <div class="row gap">
            <button class="big" disabled={busy !== null} data-testid="pick-list" onClick={() => run('pick', () => st.backend.pickList(), setPickList)}>Show</button>
            <button class="big" disabled={busy !== null} onClick={() => run('pdf', () => st.backend.pickListPdf(), (b) => window.open(URL.createObjectURL(new Blob([b as BlobPart], { type: 'application/pdf' }))))}>Open PDF</button>
          </div>
          {pickList && <table class="lines small" data-testid="pick-list-table"><thead><tr><th>Where</th><th>SKU</th><th>Item</th><th class="num">Qty</th><th>Orders</th></tr></thead>
            <tbody>{pickList.entries.map((e) => <tr><td>{e.location ?? '—'}</td><td><code>{e.sku}</code></td><td>{e.title}</td><td class="num">{e.quantity}</td><td class="muted">{e.orders.map((o) => o.order_name).join(' ')}</td></tr>)}</tbody></table>}
        </div>
      </div>
      <div class="card">
        <div class="row between wrap"><h2>Ship packed orders ({ids.length} of {packed.length} chosen)</h2>
          <div class="row gap">
            <select value={service} onChange={(e) => setService(e.currentTarget.value as ServiceCode)} aria-label="Service">{SERVICES.map((s) => <option value={s.code}>{s.name}</option>)}</select>
            <button class="primary big" disabled={busy !== null || ids.length === 0} data-testid="batch-ship"
              onClick={() => run('ship', () => st.backend.batchShip(ids, service), (a) => { setShipAnswer(a); void loadPacked(); void printAll(a); })}>{busy === 'ship' ? 'Buying labels…' : `Buy ${ids.length} labels`}</button>
            <button class="big" disabled={busy !== null || !st.can('batches.run')} data-testid="batch-sync"
              onClick={() => run('sync', () => st.backend.batchSync(), setSyncAnswer)}>{busy === 'sync' ? 'Sending…' : 'Send tracking to Shopify'}</button>
          </div></div>
        {progress && <div class="progress-wrap" data-testid="batch-progress"><progress max={progress.total} value={progress.done + progress.failed} />
          <span>{progress.done + progress.failed} of {progress.total}{progress.failed ? ` · ${progress.failed} failed` : ''}</span></div>}
        {shipAnswer && <div data-testid="batch-ship-result"><p><strong>{shipAnswer.shipped} shipped</strong>, {shipAnswer.skipped} already shipped, <strong class={shipAnswer.failed ? 'error-text' : ''}>{shipAnswer.failed} failed</strong></p>
          <table class="lines small"><thead><tr><th>Order</th><th>Result</th></tr></thead><tbody>{shipAnswer.results.map((r) => (
            <tr class={r.ok ? '' : 'bad'}><td>{packed.find((o) => o.id === r.order_id)?.name ?? r.order_id}</td>
              <td>{r.ok ? (r.tracking_number ?? (r.skipped ? `nothing to do (${r.skipped.replace(/_/g, ' ')})` : 'shipped')) : `${r.error?.message ?? 'failed'}`}</td></tr>))}</tbody></table></div>}
        {syncAnswer && <p data-testid="batch-sync-result">{syncAnswer.synced} sent to Shopify, {syncAnswer.failed} failed{syncAnswer.results.filter((r) => !r.ok).slice(0, 3).map((r) => ` · ${r.error?.message ?? ''}`).join('')}</p>}
        <table class="lines" data-testid="packed-orders"><thead><tr><th></th><th>Order</th><th>Customer</th><th>Items</th></tr></thead>
          <tbody>{packed.map((o) => <tr><td><input type="checkbox" checked={picked.has(o.id)} onChange={() => toggle(o.id)} aria-label={`Ship ${o.name}`} /></td><td><a href={`#/orders/${o.id}`}>{o.name}</a></td><td>{o.customer_name}</td><td>{o.units}</td></tr>)}</tbody></table>
        {packed.length === 0 && <p class="muted">No packed orders wait for labels.</p>}
      </div>
    </section>
  );
}

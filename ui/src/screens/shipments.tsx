import { useEffect, useState } from 'preact/hooks';
import type { Shipment } from '../api/types';
import { SERVICES } from '../api/types';
import { useStation } from '../station';
import { labelPreview, printLabels } from '../lib/labels';

const STATUS_WORDS: Record<string, string> = {
  pending: 'Being bought', created: 'Label bought', delivered: 'Delivered', voided: 'Voided', failed: 'Failed',
};

export function ShipmentsScreen({ id }: { id?: string | undefined }) {
  const st = useStation();
  const [list, setList] = useState<Shipment[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  // `unboxed`: labels bought and never scanned onto their box.
  const load = (cursor?: string) => st.backend.shipments({ limit: 100, status: status === 'unboxed' ? undefined : status || undefined, boxed: status === 'unboxed' ? 'false' : undefined, cursor })
    .then((p) => { setList((l) => (cursor ? [...l, ...p.data] : p.data)); setNext(p.next_cursor); }, st.fail);
  useEffect(() => { void load(); }, [status]);

  return (
    <section class="shipments">
      <div class="row between wrap"><h1>Shipments</h1>
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value)} aria-label="Status">
          <option value="">All</option>{Object.entries(STATUS_WORDS).map(([k, v]) => <option value={k}>{v}</option>)}
          <option value="unboxed">Never scanned onto a box</option></select></div>
      <div class="grid-side">
        <table class="lines" data-testid="shipments"><thead><tr><th>Tracking</th><th>Service</th><th>Status</th><th>On its box</th><th>Weight</th><th>Created</th></tr></thead>
          <tbody>{list.map((s) => (
            <tr class={s.id === id ? 'cursor' : ''} onClick={() => st.go(`/shipments/${s.id}`)} role="button">
              <td><code>{s.tracking_number ?? '—'}</code></td><td>{SERVICES.find((x) => x.code === s.service)?.name ?? s.service}</td>
              <td><span class={`badge t-${s.status}`}>{STATUS_WORDS[s.status] ?? s.status}</span></td>
              <td>{s.boxed_at ? '✔ scanned' : '—'}</td>
              <td>{s.package.weight.value} {s.package.weight.unit}</td><td>{new Date(s.created_at).toLocaleString()}</td></tr>))}</tbody></table>
        {id && <ShipmentDetail id={id} />}
      </div>
      {next && <button onClick={() => load(next)}>More</button>}
      {list.length === 0 && <p class="muted">No shipments yet.</p>}
    </section>
  );
}

function ShipmentDetail({ id }: { id: string }) {
  const st = useStation();
  const [s, setS] = useState<Shipment | null>(null);
  const [img, setImg] = useState<string | null>(null);
  useEffect(() => {
    let url: string | null = null;
    st.backend.shipment(id).then(setS, st.fail);
    labelPreview(st, id).then((u) => { url = u; setImg(u); }, () => setImg(null));
    return () => { if (url) URL.revokeObjectURL(url); };
  }, [id]);
  if (!s) return <div class="card">Loading…</div>;
  return (
    <div class="card" data-testid="shipment-detail">
      <h2><code>{s.tracking_number}</code></h2>
      <div class="row gap">
        {s.order_id && <a class="button" href={`#/orders/${s.order_id}`}>Open order</a>}
        <button onClick={async () => { try { setS(await st.backend.track(id)); } catch (e) { st.fail(e); } }}>Refresh tracking</button>
        <button onClick={async () => { try { await printLabels(st, s); st.notify(s.more_packages?.length ? 'Every box\'s label sent to the printer' : 'Label sent to the printer'); } catch (e) { st.fail(e); } }}>Reprint</button>
      </div>
      {img && <img class="label-preview small" src={img} alt="Label" />}
      <ol class="tracking">{(s.tracking_events ?? []).slice().reverse().map((e) => <li><strong>{e.description}</strong><div class="muted small">{new Date(e.at).toLocaleString()}{e.location ? ` · ${e.location}` : ''}</div></li>)}</ol>
    </div>
  );
}

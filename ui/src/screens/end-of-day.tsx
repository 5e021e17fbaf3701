// End of day at the dock: what leaves per service (a bar each), labels never scanned onto a
// box (found, or voided with one key), the day's voids, and the count sheet the driver signs.
import { useEffect, useState } from 'preact/hooks';
import type { DayLabel, EndOfDay } from '../api/types';
import { actionKey } from '../lib/format';
import { useStation } from '../station';
import { Confirm } from './dialog';

/** The browser's offset from UTC as `+01:00`: the warehouse's day is its own. */
export function utcOffset(d = new Date()): string {
  const m = -d.getTimezoneOffset();
  const a = Math.abs(m);
  return `${m < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

function localDay(d = new Date()): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const time = (at: string) => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export function EndOfDayScreen() {
  const st = useStation();
  const [date, setDate] = useState(localDay());
  const [day, setDay] = useState<EndOfDay | null>(null);
  const [chosen, setChosen] = useState(0);
  const [voiding, setVoiding] = useState<DayLabel | null>(null);
  const mayVoid = st.can('labels.void');
  const load = () => st.backend.endOfDay(date, utcOffset()).then((d) => { setDay(d); setChosen(0); }, st.fail);
  useEffect(() => { void load(); }, [date]);
  useEffect(() => st.onLive((e) => { if (e.type === 'order_changed' && (e.event === 'shipped' || e.event === 'voided')) void load(); }), [date]);

  // One key: V voids the label chosen (↑/↓) among those never scanned onto a box.
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).tagName === 'INPUT' || voiding || !day) return;
      const n = day.not_boxed.length;
      if (e.key === 'ArrowDown' && n) { e.preventDefault(); setChosen((c) => Math.min(c + 1, n - 1)); }
      if (e.key === 'ArrowUp' && n) { e.preventDefault(); setChosen((c) => Math.max(c - 1, 0)); }
      if ((e.key === 'v' || e.key === 'V') && mayVoid && day.not_boxed[chosen]) { e.preventDefault(); setVoiding(day.not_boxed[chosen] ?? null); }
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  });

  const doVoid = async () => {
    const l = voiding;
    setVoiding(null);
    if (!l?.order_id) return;
    try { await st.backend.operate(l.order_id, { action: 'void' }, actionKey()); st.notify(`Label ${l.tracking_number ?? ''} voided`); await load(); } catch (e) { st.fail(e); }
  };
  const sheet = async () => {
    try {
      const b = await st.backend.bytes(`/api/${encodeURIComponent(st.session.tenant)}/end-of-day/count-sheet?date=${date}&utc_offset=${encodeURIComponent(utcOffset())}`);
      window.open(URL.createObjectURL(new Blob([b as BlobPart], { type: 'application/pdf' })));
    } catch (e) { st.fail(e); }
  };

  const most = Math.max(1, ...(day?.per_service.map((s) => s.parcels) ?? [1]));
  return (
    <section class="end-of-day" data-testid="end-of-day">
      <div class="row between wrap"><h1>End of day</h1>
        <div class="row gap">
          <input type="date" value={date} onInput={(e) => setDate(e.currentTarget.value || localDay())} aria-label="Day" data-testid="eod-date" />
          <button class="primary big" onClick={sheet} data-testid="count-sheet">Count sheet for the driver (PDF)</button>
        </div></div>
      {!day ? <p class="muted">Loading…</p> : <div class="grid2">
        <div class="card" data-testid="eod-counts">
          <h2><span data-testid="eod-parcels">{day.parcels}</span> parcel{day.parcels === 1 ? '' : 's'} leave</h2>
          <div class="bars">{day.per_service.map((s) => (
            <div class="bar-row" data-service={s.service} data-parcels={s.parcels}>
              <span class="bar-name">{s.name}</span>
              <span class="bar"><span class="bar-fill" style={{ width: `${(100 * s.parcels) / most}%` }} /></span>
              <strong class="num">{s.parcels}</strong>{s.voided > 0 && <span class="muted small"> ({s.voided} voided)</span>}
            </div>))}</div>
          <p class="muted small">{day.bought.length} label{day.bought.length === 1 ? '' : 's'} bought, {day.voided.length} voided.</p>
        </div>
        <div class="card" data-testid="eod-not-boxed">
          <h2>Never scanned onto a box ({day.not_boxed.length})</h2>
          {day.not_boxed.length === 0 ? <p class="muted">Every label bought today was scanned onto its box.</p> : <>
            <p class="muted small">Find each box, or void the label if it is not going.{mayVoid ? ' ↑/↓ choose, V voids.' : ''}</p>
            <table class="lines"><thead><tr><th>Order</th><th>Tracking</th><th>Bought</th>{mayVoid && <th />}</tr></thead>
              <tbody>{day.not_boxed.map((l, i) => (
                <tr class={i === chosen ? 'cursor' : ''} data-testid="not-boxed" data-shipment={l.shipment_id}>
                  <td>{l.order_id ? <a href={`#/orders/${l.order_id}`}>{l.order_name ?? l.order_id}</a> : '—'}</td>
                  <td><code>{l.tracking_number}</code></td><td>{time(l.created_at)}</td>
                  {mayVoid && <td><button class="danger" onClick={() => { setChosen(i); setVoiding(l); }}>Void <kbd>V</kbd></button></td>}</tr>))}</tbody></table></>}
        </div>
        <div class="card" data-testid="eod-voided">
          <h2>Voided ({day.voided.length})</h2>
          {day.voided.length === 0 ? <p class="muted">None.</p> :
            <ul>{day.voided.map((l) => <li><code>{l.tracking_number}</code> · {l.order_name ?? '—'} <span class="muted">at {time(l.updated_at)}</span></li>)}</ul>}
        </div>
      </div>}
      {voiding && <Confirm title={`Void ${voiding.tracking_number ?? 'this label'}?`} body={`UPS cancels the label (no charge) and ${voiding.order_name ?? 'the order'} goes back to packed. Throw the printed label away.`}
        confirm="Void label" danger onConfirm={doVoid} onCancel={() => setVoiding(null)} />}
    </section>
  );
}

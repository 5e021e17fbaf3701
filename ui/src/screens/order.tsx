import { useEffect, useRef, useState } from 'preact/hooks';
import type { AddressCheck, BoxPreset, ExpectedWeight, Order, OrderLine, PackageInput, Rate, ServiceCode, Shipment } from '../api/types';
import { SERVICES } from '../api/types';
import { ApiError, explain } from '../api/errors';
import { useStation } from '../station';
import { matchLine } from '../scan/codes';
import { useScanner } from '../scan/use-scanner';
import { answerScan, markScanStart } from '../lib/feedback';
import { STATUS_WORDS, actionKey, address, convertWeight, money, weight } from '../lib/format';
import { boxesOf, labelPreview, printLabel, printLabels } from '../lib/labels';
import type { ScaleReading } from '../devices/types';
import { SCALE_WORDS } from '../devices/types';
import { Confirm } from './dialog';
import { StickyError } from './sticky';

const STEPS = ['pending', 'processing', 'picked', 'packed', 'shipped', 'delivered'] as const;

/** A station's boxes until an admin sets its own; tares in pounds (the default unit). */
export const DEFAULT_BOXES: BoxPreset[] = [
  { name: 'S 10x8x4', length: 10, width: 8, height: 4, tare: 0.3 },
  { name: 'M 12x10x6', length: 12, width: 10, height: 6, tare: 0.5 },
  { name: 'L 16x12x8', length: 16, width: 12, height: 8, tare: 0.9 },
  { name: 'Poly mailer', length: 14, width: 10, height: 1, tare: 0.05 },
];

type ScanAnswer = { verdict: 'right' | 'wrong' | 'done'; text: string; line?: number } | null;

/** The answer of an operation: the order as it is now. */
function orderOf(answer: unknown): Order | null {
  const o = (answer as { order?: Order } | null)?.order;
  return o && typeof o === 'object' ? o : null;
}

export function OrderScreen({ id }: { id: string }) {
  const st = useStation();
  const [order, setOrder] = useState<Order | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'cancel' | 'void' | null>(null);

  const reload = async () => {
    try { setOrder(await st.backend.order(id)); } catch (e) { const x = explain(e); if (x.code === 'not_found') setMissing(x.headline); else st.fail(e); }
  };
  useEffect(() => { void reload(); }, [id]);
  // Someone else (another bench, the shop, UPS) changed it: show what is true now.
  useEffect(() => st.onLive((e) => { if ((e.type === 'order_changed' || e.type === 'tracking_exception') && e.order_id === id) void reload(); }), [id]);

  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !confirm && !(e.target as HTMLElement).closest('.modal-back')) { e.preventDefault(); st.go('/queue'); }
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  }, [confirm]);

  if (missing) return <section class="card"><h2>{missing}</h2><p>This order is not on the hub (it may have been cleared).</p><a href="#/queue">Back to the queue</a></section>;
  if (!order) return <p class="muted">Loading order…</p>;

  const doCancel = async (reason: string) => {
    setConfirm(null);
    try { const a = await st.backend.operate(order.id, { action: 'cancel', reason }, actionKey()); setOrder(orderOf(a) ?? order); void reload(); st.notify(`Order ${order.name} cancelled`); } catch (e) { st.fail(e); }
  };
  const doVoid = async () => {
    setConfirm(null);
    try { await st.backend.operate(order.id, { action: 'void' }, actionKey()); await reload(); st.notify(`Label voided; ${order.name} is back to packed`); } catch (e) { st.fail(e); }
  };

  const stepIndex = STEPS.indexOf(order.status as (typeof STEPS)[number]);
  return (
    <section class="order" data-testid="order" data-status={order.status}>
      <div class="row between wrap">
        <div>
          <a href="#/queue" class="muted">← Queue <kbd>Esc</kbd></a>
          <h1 data-testid="order-name">{order.name} <span class={`badge s-${order.status}`} data-testid="order-status">{STATUS_WORDS[order.status]}</span></h1>
          <div class="muted">{order.customer_name ?? 'No customer name'} · {order.lines.length} lines</div>
        </div>
        <div class="row gap">
          {order.status !== 'shipped' && order.status !== 'delivered' && order.status !== 'cancelled' && st.can('orders.cancel') &&
            <button class="danger" onClick={() => setConfirm('cancel')} data-testid="cancel-order">Cancel order</button>}
          {order.status === 'shipped' && st.can('labels.void') &&
            <button class="danger" onClick={() => setConfirm('void')} data-testid="void-label">Void label</button>}
        </div>
      </div>
      {order.status !== 'cancelled' && (
        <ol class="stepper">{STEPS.map((s, i) => <li class={i < stepIndex ? 'done' : i === stepIndex ? 'now' : ''}>{STATUS_WORDS[s]}</li>)}</ol>
      )}
      {order.hold && <div class="alert warn"><strong>On hold in Shopify:</strong> {order.hold}. Do not ship until it is released.</div>}
      {order.review != null && <div class="alert warn row between wrap" data-testid="review"><span><strong>Changed in Shopify after picking started.</strong> Check the lines against the shop before packing.</span>
        {st.can('orders.work') && <button onClick={async () => { try { await st.backend.clearReview(order.id); await reload(); st.notify('Marked as checked'); } catch (e) { st.fail(e); } }} data-testid="clear-review">Checked with the shop</button>}</div>}
      {order.status === 'cancelled' && <div class="alert error"><strong>Cancelled:</strong> {order.cancel_reason ?? 'no reason given'}</div>}
      <div class="order-grid">
        <div class="main-col">
          {order.status === 'pending' && <StartStep order={order} onOrder={setOrder} />}
          {order.status === 'processing' && <PickStep order={order} onOrder={setOrder} reload={reload} />}
          {order.status === 'picked' && <PackStep order={order} onOrder={setOrder} />}
          {order.status === 'packed' && <ShipStep order={order} onShipped={reload} />}
          {(order.status === 'shipped' || order.status === 'delivered') && <ShippedStep order={order} reload={reload} />}
          {order.status !== 'processing' && <Lines lines={order.lines} />}
        </div>
        <aside class="side-col">
          <div class="card"><h3>Ship to</h3>{address(order.ship_to).map((l) => <div>{l}</div>)}</div>
          {!order.package && order.expected_weight?.checked && ['pending', 'processing', 'picked'].includes(order.status) &&
            <div class="card"><h3>Weight</h3><ExpectedLine expected={order.expected_weight} tare={0} testid="order-weight" /></div>}
          {order.package && <div class="card"><h3>{order.more_boxes?.length ? `${order.more_boxes.length + 1} boxes` : 'Package'}</h3><div>{weight(order.package.weight)}{order.package.box ? ` · ${order.package.box}` : ''}</div>
            {(order.more_boxes ?? []).map((b) => <div>{weight(b.weight)}{b.box ? ` · ${b.box}` : ''}</div>)}
            {order.package.dimensions && <div class="muted">{order.package.dimensions.length}×{order.package.dimensions.width}×{order.package.dimensions.height} {order.package.dimensions.unit}</div>}</div>}
          <div class="card"><h3>History</h3><ul class="events">{(order.events ?? []).slice().reverse().slice(0, 12).map((e) => <li><span class="muted">{new Date(e.at).toLocaleTimeString()}</span> {e.kind.replace(/_/g, ' ')}</li>)}</ul></div>
          <a class="button" href={st.backend.url(`/api/${encodeURIComponent(st.session.tenant)}/orders/${encodeURIComponent(order.id)}/packing-slip`)} target="_blank"
            onClick={async (e) => { e.preventDefault(); try { const b = await st.backend.bytes(`/api/${encodeURIComponent(st.session.tenant)}/orders/${encodeURIComponent(order.id)}/packing-slip`); window.open(URL.createObjectURL(new Blob([b as BlobPart], { type: 'application/pdf' }))); } catch (err) { st.fail(err); } }}>Packing slip (PDF)</a>
        </aside>
      </div>
      {confirm === 'cancel' && <Confirm title={`Cancel ${order.name}?`} body="The order leaves the queue. Picked items go back on the shelf by hand." confirm="Cancel order" danger reasonLabel="Reason" onConfirm={doCancel} onCancel={() => setConfirm(null)} />}
      {confirm === 'void' && <Confirm title="Void this label?" body="UPS cancels the label (you are not charged) and the order goes back to packed. Throw the printed label away." confirm="Void label" danger onConfirm={doVoid} onCancel={() => setConfirm(null)} />}
    </section>
  );
}

function Lines({ lines, flash }: { lines: OrderLine[]; flash?: number | undefined }) {
  return (
    <table class="lines" data-testid="lines">
      <thead><tr><th>Item</th><th>SKU</th><th>Where</th><th class="num">Picked</th></tr></thead>
      <tbody>{lines.map((l) => (
        <tr class={`${l.remaining === 0 ? 'complete' : ''} ${flash === l.line_no ? 'just' : ''}`} data-sku={l.sku} data-testid="line">
          <td>{l.title}</td><td><code>{l.sku}</code></td><td>{l.location ?? '—'}{l.stock === 'out_of_stock' ? ' (out of stock)' : ''}</td>
          <td class="num"><strong data-testid="line-picked">{l.picked}</strong> / {l.quantity} <progress max={l.quantity} value={l.picked} /></td>
        </tr>))}</tbody>
    </table>
  );
}

function StartStep({ order, onOrder }: { order: Order; onOrder: (o: Order) => void }) {
  const st = useStation();
  const start = async () => {
    try { const a = await st.backend.operate(order.id, { action: 'assign', user_id: st.session.user.id }, actionKey()); const o = orderOf(a); if (o) onOrder({ ...order, ...o }); } catch (e) { st.fail(e); }
  };
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => { ref.current?.focus(); }, []);
  return st.can('orders.work')
    ? <div class="card step"><h2>Waiting to be picked</h2><button ref={ref} class="primary huge" onClick={start} data-testid="start-picking">Start picking <kbd>Enter</kbd></button></div>
    : <div class="card step"><h2>Waiting to be picked</h2></div>;
}

function PickStep({ order, onOrder, reload }: { order: Order; onOrder: (o: Order) => void; reload: () => Promise<void> }) {
  const st = useStation();
  const [answer, setAnswer] = useState<ScanAnswer>(null);
  // A wrong scan (or a pick the hub refused) stands until the packer answers it: no scan is
  // a pick meanwhile. A scan of an item this order still needs answers it, as does Esc.
  const [stuck, setStuckState] = useState<string | null>(null);
  const stuckNow = useRef<string | null>(null);
  const setStuck = (text: string | null) => { stuckNow.current = text; setStuckState(text); };
  const field = useRef<HTMLInputElement>(null);
  const lines = useRef(order.lines);
  lines.current = order.lines;
  const queue = useRef<Promise<void>>(Promise.resolve());
  const manual = st.session.user.role === 'admin';

  useEffect(() => { field.current?.focus(); }, []);

  const refuse = (text: string, line?: number) => {
    answerScan('wrong');
    setAnswer({ verdict: 'wrong', text, line });
    setStuck(text);
  };

  const scan = (raw: string) => {
    const code = raw.trim();
    if (!code) return;
    const line = matchLine(lines.current, code);
    if (stuckNow.current) {
      if (line && line.remaining > 0) {
        setStuck(null);
        answerScan('right');
        setAnswer({ verdict: 'right', text: `Cleared. Scan ${line.title} again to count it.`, line: line.line_no });
      } else {
        refuse(`Still stopped: ${code} is not what this order needs. Put it back, then scan an item of this order or press Esc.`);
      }
      return;
    }
    if (!line) {
      refuse(`Wrong item: ${code} is not in this order. Put it back.`);
      return;
    }
    if (line.remaining <= 0) {
      refuse(`Already have all ${line.quantity} of ${line.sku}. Put this one back.`, line.line_no);
      return;
    }
    // Answer at once from what the station knows; the hub confirms (or takes it back) below.
    const after = lines.current.map((l) => (l.line_no === line.line_no ? { ...l, picked: l.picked + 1, remaining: l.remaining - 1 } : l));
    const complete = after.every((l) => l.remaining === 0);
    answerScan(complete ? 'done' : 'right');
    setAnswer({ verdict: complete ? 'done' : 'right', text: complete ? 'All items picked. Next: weigh the box.' : `${line.title}: ${line.picked + 1} of ${line.quantity}`, line: line.line_no });
    lines.current = after;
    onOrder({ ...order, lines: after });
    queue.current = queue.current.then(async () => {
      try {
        const a = await st.backend.operate(order.id, { action: 'pick', items: [{ barcode: code, quantity: 1 }] }, actionKey());
        const o = orderOf(a);
        if (o && o.status !== 'processing') onOrder({ ...order, ...o });
      } catch (e) {
        const x = explain(e);
        refuse(`${x.headline} ${x.detail ?? ''}`);
        await reload();
      }
    });
  };

  useScanner(scan);

  const addManual = (l: OrderLine, qty: number) => {
    if (!Number.isInteger(qty) || qty < 1 || qty > l.remaining) { st.notify(`Enter 1 to ${l.remaining}`); return; }
    queue.current = queue.current.then(async () => {
      try { const a = await st.backend.operate(order.id, { action: 'pick', items: [{ sku: l.sku, quantity: qty }] }, actionKey()); const o = orderOf(a); if (o) onOrder({ ...order, ...o }); else await reload(); } catch (e) { st.fail(e); }
    });
  };

  const picked = order.lines.reduce((n, l) => n + l.picked, 0);
  const total = order.lines.reduce((n, l) => n + l.quantity, 0);
  return (
    <div class="card step">
      <div class="row between"><h2>Scan each item</h2><span class="big-count" data-testid="pick-progress">{picked} / {total}</span></div>
      <input ref={field} class="scan-field" data-scan-field data-testid="scan-field" placeholder="Scan or type a barcode or SKU, then Enter" autocomplete="off"
        onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); markScanStart(); const v = e.currentTarget.value; e.currentTarget.value = ''; scan(v); } }}
        onBlur={(e) => { const t = e.currentTarget; setTimeout(() => { if (!document.activeElement || document.activeElement === document.body) t.focus(); }, 0); }} />
      {stuck
        ? <StickyError title="Stop: this scan was not counted" text={stuck} ack="Put back, go on" onAck={() => { setStuck(null); field.current?.focus(); }} />
        : answer && <div class={`scan-answer ${answer.verdict}`} data-testid="scan-answer" data-verdict={answer.verdict} role="alert">{answer.verdict === 'wrong' ? '✖ ' : '✔ '}{answer.text}</div>}
      <table class="lines" data-testid="lines">
        <thead><tr><th>Item</th><th>SKU</th><th>Where</th><th class="num">Picked</th>{manual && <th>Count by hand</th>}</tr></thead>
        <tbody>{order.lines.map((l) => (
          <tr class={`${l.remaining === 0 ? 'complete' : ''} ${answer?.line === l.line_no ? `just ${answer.verdict}` : ''}`} data-sku={l.sku} data-testid="line">
            <td>{l.title}</td><td><code>{l.sku}</code></td><td class="loc">{l.location ?? '—'}</td>
            <td class="num"><strong data-testid="line-picked">{l.picked}</strong> / {l.quantity} <progress max={l.quantity} value={l.picked} /></td>
            {manual && <td>{l.remaining > 0 && <ManualQty line={l} onAdd={addManual} />}</td>}
          </tr>))}</tbody>
      </table>
    </div>
  );
}

function ManualQty({ line, onAdd }: { line: OrderLine; onAdd: (l: OrderLine, q: number) => void }) {
  const [q, setQ] = useState(String(line.remaining));
  return <form class="row gap" onSubmit={(e) => { e.preventDefault(); onAdd(line, Number(q)); }}>
    <input class="qty" type="number" min={1} max={line.remaining} value={q} onInput={(e) => setQ(e.currentTarget.value)} aria-label={`Quantity of ${line.sku}`} />
    <button type="submit">Add</button></form>;
}

export function useScale(): ScaleReading {
  const st = useStation();
  const [r, setR] = useState<ScaleReading>({ state: 'none', weight: null, at: 0 });
  useEffect(() => st.devices.onScale((x) => {
    setR(x);
    requestAnimationFrame(() => {
      performance.mark('scale:painted');
      const w = window as unknown as { __scaleLag?: number[]; __scaleFrameLag?: number[] };
      w.__scaleLag?.push(performance.now() - x.at);
      // Desktop: from the scale's frame being read to it being on screen (same clock).
      if (x.frame_at_ms) w.__scaleFrameLag?.push(Date.now() - x.frame_at_ms);
    });
  }), []);
  return r;
}

/** What the box should weigh: the items (as far as their weights are known) and the box. */
function ExpectedLine({ expected, tare, testid = 'expected-weight' }: { expected: ExpectedWeight | undefined; tare: number; testid?: string }) {
  if (!expected || !expected.checked) return null;
  if (expected.items == null) {
    return <p class="muted" data-testid={testid} data-known="false">Expected weight unknown: no weight recorded for {expected.unknown_skus.join(', ')}. The box is not checked.</p>;
  }
  const total = expected.items + tare;
  return <p data-testid={testid} data-known="true" data-value={total.toFixed(3)}>Should weigh <strong>{weight({ value: total, unit: expected.unit })}</strong>
    <span class="muted"> (items {weight({ value: expected.items, unit: expected.unit })}{tare > 0 ? ` + box ${weight({ value: tare, unit: expected.unit })}` : ''})</span></p>;
}

function PackStep({ order, onOrder }: { order: Order; onOrder: (o: Order) => void }) {
  const st = useStation();
  const reading = useScale();
  const boxes = st.deviceSettings.boxes?.length ? st.deviceSettings.boxes : DEFAULT_BOXES;
  const [box, setBox] = useState<BoxPreset | null>(boxes[0] ?? null);
  // A station uses the simulated scale until an admin chooses another, or chooses none.
  const noScale = 'scale' in st.deviceSettings && !st.deviceSettings.scale;
  const manualAllowed = st.session.user.role === 'admin' || noScale;
  const [manual, setManual] = useState('');
  const [busy, setBusy] = useState(false);
  // A box off its expected weight stands on screen until the packer re-weighs it, or someone
  // allowed packs it anyway with a reason.
  const [held, setHeld] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  // Boxes weighed before the one on the scale, when the order needs several.
  const [weighed, setWeighed] = useState<{ pkg: PackageInput; tare: number }[]>([]);
  const stable = reading.state === 'stable' && reading.weight && reading.weight.value > 0 ? reading.weight : null;
  const manualValue = Number(manual);
  const chosen = manual.trim() !== '' && manualAllowed && manualValue > 0 ? { value: manualValue, unit: (st.deviceSettings as { weight_unit?: 'lb' }).weight_unit ?? 'lb' } : stable;
  const tare = box?.tare ?? 0;
  const tares = weighed.reduce((t, w) => t + w.tare, 0) + tare;

  /** The box on the scale now, as the hub takes it. */
  const onScale = (): PackageInput | null => {
    if (!chosen) return null;
    const pkg: PackageInput = { weight: chosen.value, weight_unit: chosen.unit };
    if (box) { pkg.dimensions = { length: box.length, width: box.width, height: box.height, unit: 'in' }; pkg.box = box.name; }
    // The box's tare is in the warehouse's unit; the package says it in the scale's.
    const tareHere = convertWeight(tare, order.expected_weight?.unit ?? chosen.unit, chosen.unit);
    if (tareHere > 0 && tareHere < chosen.value) pkg.tare = Number(tareHere.toFixed(4));
    return pkg;
  };
  const anotherBox = () => {
    const pkg = onScale();
    if (!pkg || busy || held) return;
    setWeighed([...weighed, { pkg, tare }]);
    setManual('');
    st.notify(`Box ${weighed.length + 1} weighed (${weight({ value: pkg.weight, unit: pkg.weight_unit ?? 'lb' })}). Put the next box on the scale.`);
  };

  const pack = async (override?: string) => {
    const pkg = onScale();
    if (!pkg || busy || (held && !override)) return;
    setBusy(true);
    const all = [...weighed.map((w) => w.pkg), pkg];
    const [first, ...more] = all as [PackageInput, ...PackageInput[]];
    const body = { action: 'pack' as const, package: first, ...(more.length ? { more_packages: more } : {}), ...(override ? { override_reason: override } : {}) };
    try {
      const a = await st.backend.operate(order.id, body, actionKey());
      setHeld(null); setReason(''); setWeighed([]);
      for (const w of (a as { warnings?: { message: string }[] } | null)?.warnings ?? []) st.notify(w.message);
      const o = orderOf(a); if (o) onOrder({ ...order, ...o });
    } catch (e) {
      if (e instanceof ApiError && e.code === 'weight_mismatch') {
        answerScan('wrong');
        setHeld(e.message.replace(/^held: /, ''));
      } else { st.fail(e); }
    } finally { setBusy(false); }
  };

  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      const inField = (e.target as HTMLElement).tagName === 'INPUT';
      if (e.key === 'Enter' && !inField && !(e.target as HTMLElement).closest('button')) { e.preventDefault(); void pack(); }
      const n = Number(e.key);
      if (!inField && n >= 1 && n <= boxes.length) { e.preventDefault(); setBox(boxes[n - 1] ?? null); }
      if (!inField && (e.key === 'z' || e.key === 'Z')) { e.preventDefault(); void st.devices.zeroScale(); }
      if (!inField && (e.key === 'a' || e.key === 'A')) { e.preventDefault(); anotherBox(); }
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  });

  return (
    <div class="card step" data-testid="pack-step">
      <h2>Weigh the box{weighed.length ? ` (box ${weighed.length + 1})` : ''}</h2>
      <ExpectedLine expected={order.expected_weight} tare={tares} />
      {weighed.length > 0 && <ol class="boxes-weighed" data-testid="boxes-weighed">{weighed.map((w, i) => (
        <li>Box {i + 1}: {weight({ value: w.pkg.weight, unit: w.pkg.weight_unit ?? 'lb' })}{w.pkg.box ? ` in ${w.pkg.box}` : ''}
          <button class="ghost" onClick={() => setWeighed(weighed.filter((_, j) => j !== i))} aria-label={`Take box ${i + 1} off`}>✕</button></li>))}</ol>}
      {held && <>
        <StickyError title="Box held: its weight is off" text={held} ack="Check the box and weigh it again" onAck={() => { setHeld(null); setReason(''); }} />
        <form class="row gap wrap override" onSubmit={(e) => { e.preventDefault(); if (reason.trim()) void pack(reason.trim()); }} data-testid="weight-override">
          <label>The box is right because…<input value={reason} onInput={(e) => setReason(e.currentTarget.value)} maxLength={500} placeholder="e.g. the customer asked for extra packing" data-testid="override-reason" /></label>
          <button type="submit" disabled={!reason.trim() || busy} data-testid="override-pack">Pack anyway (admin, or an operator allowed to)</button>
        </form>
      </>}
      <div class="row gap wrap">
        <div class={`scale ${reading.state}`} data-testid="scale" data-state={reading.state}>
          <div class="scale-weight" data-testid="scale-weight">{reading.weight ? weight(reading.weight) : '—'}</div>
          <div class="scale-state">{reading.state === 'stable' ? '● ' : reading.state === 'moving' ? '◌ ' : '⚠ '}{SCALE_WORDS[reading.state]}</div>
          {reading.problem && <div class="small error-text" data-testid="scale-problem">{reading.problem}</div>}
          <button class="ghost" onClick={() => void st.devices.zeroScale()}>Zero <kbd>Z</kbd></button>
        </div>
        <div class="boxes" role="radiogroup" aria-label="Box">
          {boxes.map((b, i) => (
            <button role="radio" aria-checked={box === b} class={box === b ? 'box on' : 'box'} onClick={() => setBox(b)} data-testid="box">
              <kbd>{i + 1}</kbd> {b.name}<div class="muted small">{b.length}×{b.width}×{b.height} in{b.tare ? ` · tare ${b.tare}` : ''}</div></button>))}
        </div>
      </div>
      {st.devices.kind === 'desktop' && (st.deviceSettings.scale ?? 'sim:scale') === 'sim:scale' && <SimScale />}
      {manualAllowed && <label class="manual">Or type the weight ({noScale ? 'no scale at this station' : 'admin'})
        <input type="number" step="0.01" min="0" value={manual} onInput={(e) => setManual(e.currentTarget.value)} data-testid="manual-weight" /></label>}
      <div class="row gap">
        <button class="primary huge" disabled={!chosen || busy || held !== null} onClick={() => void pack()} data-testid="pack">
          {chosen ? `Packed: ${weighed.length ? `${weighed.length + 1} boxes, this one ` : ''}${weight(chosen)}${box ? ` in ${box.name}` : ''}` : 'Waiting for a stable weight…'} <kbd>Enter</kbd></button>
        <button class="big" disabled={!chosen || busy || held !== null} onClick={anotherBox} data-testid="another-box">Another box <kbd>A</kbd></button>
      </div>
    </div>
  );
}

function ShipStep({ order, onShipped }: { order: Order; onShipped: () => Promise<void> }) {
  const st = useStation();
  const [rates, setRates] = useState<Rate[] | null>(null);
  const [rateError, setRateError] = useState<string | null>(null);
  const [check, setCheck] = useState<AddressCheck | null>(null);
  const [service, setService] = useState<ServiceCode>('ground');
  const [busy, setBusy] = useState(false);
  // A purchase that failed stands on screen, with its reason, until the packer answers it.
  const [failed, setFailed] = useState<string | null>(null);
  const key = useRef(actionKey()); // one label purchase = one key, however often it is retried

  useEffect(() => {
    if (!order.package) return;
    const p = order.package;
    const pkg: PackageInput = { weight: p.weight.value, weight_unit: p.weight.unit };
    if (p.dimensions) pkg.dimensions = { ...p.dimensions };
    st.backend.rates(order.id, pkg).then(setRates, (e) => { const x = explain(e); setRateError(`${x.headline} ${x.detail ?? ''}`); });
    st.backend.checkAddress(order.id).then(setCheck, () => setCheck(null));
  }, [order.id]);

  const buy = async () => {
    if (busy || failed) return;
    setBusy(true);
    try {
      const a = (await st.backend.operate(order.id, { action: 'ship', service }, key.current)) as { shipment?: Shipment };
      st.notify(`Label bought: ${a.shipment?.tracking_number ?? ''}`);
      if (st.deviceSettings.auto_print !== false && a.shipment) {
        const n = 1 + (a.shipment.more_packages?.length ?? 0);
        try { await printLabels(st, a.shipment); st.notify(n > 1 ? `${n} labels sent to the printer` : 'Label sent to the printer'); } catch (e) { st.fail(e); }
      }
      await onShipped();
    } catch (e) {
      const x = explain(e);
      answerScan('wrong');
      setFailed(`${x.headline} ${x.detail ?? ''}`.trim());
    } finally { setBusy(false); }
  };

  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).tagName === 'INPUT') return;
      const n = Number(e.key);
      const s = SERVICES[n - 1];
      if (s) { e.preventDefault(); setService(s.code); }
      if (e.key === 'Enter' && !(e.target as HTMLElement).closest('button')) { e.preventDefault(); void buy(); }
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  });

  const warn = check && check.verdict !== 'valid' && check.verdict !== 'not_checked';
  return (
    <div class="card step" data-testid="ship-step">
      <h2>Buy the label</h2>
      {warn && <div class="alert warn" data-testid="address-warning"><strong>UPS {check.verdict === 'ambiguous' ? 'is not sure of' : 'does not know'} this address.</strong>
        {check.candidates.length > 0 && <div>Did they mean: {address(check.candidates[0]).join(', ')}?</div>}<div>Check it with the customer or an admin before buying.</div></div>}
      {check?.verdict === 'valid' && <div class="muted small" data-testid="address-ok">✔ UPS knows this address</div>}
      <div class="services" role="radiogroup" aria-label="Service">
        {SERVICES.map((s, i) => {
          const r = rates?.find((x) => x.service === s.code);
          return (
            <button role="radio" aria-checked={service === s.code} class={service === s.code ? 'service on' : 'service'} onClick={() => setService(s.code)} data-testid={`service-${s.code}`}>
              <kbd>{i + 1}</kbd> <strong>{s.name}</strong>
              <span class="price">{r ? money(r.amount, r.currency) : rates ? 'not offered' : '…'}</span>
              <span class="muted">{r?.transit_days != null ? `${r.transit_days} day${r.transit_days === 1 ? '' : 's'}` : ''}</span>
            </button>);
        })}
      </div>
      {rateError && <div class="muted small">Prices unavailable: {rateError}</div>}
      {failed && <StickyError title="No label was bought" text={failed} ack="Seen: try again or fix it" onAck={() => setFailed(null)} />}
      <button class="primary huge" onClick={buy} disabled={busy || failed !== null} data-testid="buy-label">{busy ? 'Buying…' : `Buy ${SERVICES.find((s) => s.code === service)?.name} label`} <kbd>Enter</kbd></button>
    </div>
  );
}

/** Label to box: the packer scans each printed label's barcode on its box; another label is
 * refused loudly and stands until a right one is scanned (or Esc). */
function LabelToBox({ shipment }: { shipment: Shipment }) {
  const st = useStation();
  const [now, setNow] = useState<Shipment>(shipment);
  const [wrong, setWrong] = useState<string | null>(null);
  useEffect(() => { setNow(shipment); setWrong(null); }, [shipment.id]);
  const boxes = boxesOf(now);
  const left = boxes.filter((b) => !b.boxedAt).length;
  useScanner(async (code) => {
    try {
      setNow(await st.backend.boxScan(shipment.id, code));
      setWrong(null); answerScan('done');
    } catch (e) {
      const x = explain(e);
      answerScan('wrong');
      setWrong(x.detail ?? x.headline);
    }
  }, left > 0);
  if (left === 0) return <div class="alert ok" data-testid="label-boxed">✔ {boxes.length > 1 ? `All ${boxes.length} labels` : 'Label'} scanned on {boxes.length > 1 ? 'their boxes' : 'its box'}</div>;
  return <>
    <div class="alert warn" data-testid="label-to-box"><strong>Scan the label on the box{boxes.length > 1 ? `es (${boxes.length - left} of ${boxes.length} done)` : ''}.</strong> Scan the tracking barcode (1Z…) of each label you stuck on: it must be this order's.</div>
    {wrong && <StickyError title="Wrong label on this box" text={wrong} ack="Seen: fix the label, then scan it again" onAck={() => setWrong(null)} />}
  </>;
}

function ShippedStep({ order, reload }: { order: Order; reload: () => Promise<void> }) {
  const st = useStation();
  const shipment = (order.shipments ?? []).find((s) => s.id === order.shipment_id) ?? null;
  const [img, setImg] = useState<string | null>(null);
  const [track, setTrack] = useState<Shipment | null>(null);
  const [printing, setPrinting] = useState(false);

  useEffect(() => {
    if (!shipment) return;
    let url: string | null = null;
    labelPreview(st, shipment.id).then((u) => { url = u; setImg(u); }, st.fail);
    st.backend.shipment(shipment.id).then(setTrack, () => undefined);
    return () => { if (url) URL.revokeObjectURL(url); };
  }, [shipment?.id]);

  const reprint = async () => {
    if (!shipment || printing) return;
    setPrinting(true);
    try { await printLabels(st, shipment); st.notify(shipment.more_packages?.length ? 'Every box\'s label sent to the printer again' : 'Label sent to the printer again'); } catch (e) { st.fail(e); } finally { setPrinting(false); }
  };
  const refresh = async () => {
    if (!shipment) return;
    try { setTrack(await st.backend.track(shipment.id)); await reload(); } catch (e) { st.fail(e); }
  };
  useEffect(() => {
    const on = (e: KeyboardEvent) => { if ((e.target as HTMLElement).tagName !== 'INPUT' && (e.key === 'p' || e.key === 'P')) { e.preventDefault(); void reprint(); } };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  });

  if (!shipment) return <div class="card step"><h2>{STATUS_WORDS[order.status]}</h2></div>;
  const events = track?.tracking_events ?? [];
  return (
    <div class="card step" data-testid="shipped-step">
      <div class="row between wrap">
        <div><h2>{order.status === 'delivered' ? 'Delivered' : 'Shipped'}</h2>
          <div>Tracking <code data-testid="tracking-number">{shipment.tracking_number}</code> · {SERVICES.find((s) => s.code === shipment.service)?.name}</div>
          {(shipment.more_packages?.length ?? 0) > 0 && <ol class="small" data-testid="more-labels">{(shipment.more_packages ?? []).map((p) => (
            <li>Box {p.package}: <code data-testid="box-tracking">{p.tracking_number}</code>{p.box ? ` · ${p.box}` : ''}
              <button class="ghost" onClick={async () => { try { await printLabel(st, shipment.id, p.tracking_number, p.package); st.notify(`Box ${p.package}'s label sent to the printer`); } catch (e) { st.fail(e); } }}>Reprint</button></li>))}</ol>}
          {shipment.estimated_delivery && <div class="muted">Expected {shipment.estimated_delivery}</div>}</div>
        <div class="row gap">
          <button class="primary big" onClick={reprint} disabled={printing} data-testid="reprint">Reprint <kbd>P</kbd></button>
          <button class="big" onClick={refresh} data-testid="refresh-tracking">Refresh tracking</button>
          <a class="button big" href="#/queue">Next order <kbd>Esc</kbd></a>
        </div>
      </div>
      {st.deviceSettings.label_to_box === true && shipment.status === 'created' && <LabelToBox shipment={shipment} />}
      <div class="row gap wrap top">
        {img ? <img class="label-preview" src={img} alt={`Label ${shipment.tracking_number ?? ''}`} data-testid="label-preview" /> : <div class="label-preview empty">Loading label…</div>}
        <div class="tracking" data-testid="tracking">
          <h3>Tracking</h3>
          {events.length === 0 && <p class="muted">No scans from UPS yet.</p>}
          <ol>{events.slice().reverse().map((e) => <li data-kind={e.kind}><strong>{e.description}</strong><div class="muted small">{new Date(e.at).toLocaleString()}{e.location ? ` · ${e.location}` : ''}</div></li>)}</ol>
        </div>
      </div>
    </div>
  );
}

/** The desktop's simulated scale (demo and training stations): put a load on it. */
export function SimScale() {
  const st = useStation();
  const [load, setLoad] = useState('2.4');
  return (
    <form class="row gap sim-scale" onSubmit={(e) => { e.preventDefault(); void st.devices.simulate?.(Number(load)); }}>
      <span class="muted small">Simulated scale:</span>
      <input class="qty" type="number" step="0.1" min="0" value={load} onInput={(e) => setLoad(e.currentTarget.value)} aria-label="Simulated load in lb" data-testid="sim-scale-load" />
      <button type="submit" data-testid="sim-scale-place">Put on scale</button>
    </form>
  );
}

import { useEffect, useState } from 'preact/hooks';
import type { SkuWeight, StockLevel } from '../api/types';
import { weight } from '../lib/format';
import { useStation } from '../station';

/** Each SKU's unit weight, which packed boxes are weighed against: from Shopify, or weighed here
 * (which wins, and which an import never replaces). Admins set and clear them. */
function SkuWeights() {
  const st = useStation();
  const write = st.can('inventory.write');
  const [list, setList] = useState<SkuWeight[] | null>(null);
  const [sku, setSku] = useState('');
  const [value, setValue] = useState('');
  const load = () => st.backend.skuWeights().then(setList, st.fail);
  useEffect(() => { void load(); }, []);
  const set = async (s: string, w: number | null) => {
    try { await st.backend.setSkuWeights([{ sku: s, weight: w }]); st.notify(w == null ? `${s}: weight cleared` : `${s}: ${w} per unit`); await load(); } catch (e) { st.fail(e); }
  };
  const add = (e: Event) => {
    e.preventDefault();
    const n = Number(value);
    if (!sku.trim() || !(n > 0)) { st.notify('Give a SKU and a weight above 0'); return; }
    void set(sku.trim(), n).then(() => { setSku(''); setValue(''); });
  };
  return (
    <section class="card" data-testid="sku-weights">
      <h2>Unit weights</h2>
      <p class="muted small">Packed boxes are weighed against these. Shopify's variant weights come in with each import; a weight set here wins.</p>
      {write && <form class="row gap" onSubmit={add}>
        <input placeholder="SKU" value={sku} onInput={(e) => setSku(e.currentTarget.value)} aria-label="SKU to weigh" data-testid="weight-sku" />
        <input class="qty" type="number" min={0} step="0.01" placeholder="weight" value={value} onInput={(e) => setValue(e.currentTarget.value)} aria-label="Unit weight" data-testid="weight-value" />
        <button type="submit" data-testid="weight-set">Set weight</button></form>}
      {list === null ? <p class="muted">Loading…</p> : list.length === 0 ? <p class="muted">No weights yet: boxes are not weighed against their items.</p> :
        <table class="lines"><thead><tr><th>SKU</th><th class="num">Per unit</th><th>From</th>{write && <th />}</tr></thead>
          <tbody>{list.map((w) => (
            <tr data-testid="sku-weight" data-sku={w.sku}><td><code>{w.sku}</code></td><td class="num">{weight(w.weight)}</td><td>{w.source === 'shop' ? 'Shopify' : 'Weighed here'}</td>
              {write && <td>{w.source === 'bench' && <button onClick={() => void set(w.sku, null)}>Clear</button>}</td>}</tr>))}</tbody></table>}
    </section>
  );
}

/** Stock by SKU and shelf location: look up, count (set), adjust, CSV in and out. */
export function StockScreen() {
  const st = useStation();
  const [sku, setSku] = useState('');
  const [rows, setRows] = useState<StockLevel[]>([]);
  const write = st.can('inventory.write');
  const load = () => st.backend.inventory({ sku: sku.trim() || undefined }).then(setRows, st.fail);
  useEffect(() => { void load(); }, []);
  useEffect(() => st.onLive((e) => { if (e.type === 'stock_changed') setRows((rs) => rs.map((r) => (r.sku === e.sku && r.location === e.location ? { ...r, on_hand: e.on_hand } : r))); }), []);

  const adjust = async (r: StockLevel, delta: number) => {
    try { await st.backend.changeInventory([{ sku: r.sku, location: r.location, delta }], delta > 0 ? 'received' : 'damaged'); await load(); } catch (e) { st.fail(e); }
  };
  const count = async (r: StockLevel, raw: string) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) { st.notify('A count is a whole number, 0 or more'); return; }
    try { await st.backend.changeInventory([{ sku: r.sku, location: r.location, on_hand: n }], 'count'); await load(); } catch (e) { st.fail(e); }
  };
  const exportCsv = async () => {
    try { const csv = await st.backend.exportInventory(); const a = document.createElement('a'); a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' })); a.download = 'stock.csv'; a.click(); } catch (e) { st.fail(e); }
  };
  const importCsv = async (file: File | undefined) => {
    if (!file) return;
    try { await st.backend.importInventory(await file.text()); st.notify(`Stock imported from ${file.name}`); await load(); } catch (e) { st.fail(e); }
  };

  return (
    <section class="stock" data-testid="stock">
      <div class="row between wrap"><h1>Stock</h1>
        <div class="row gap">
          <form class="row gap" onSubmit={(e) => { e.preventDefault(); void load(); }}>
            <input placeholder="SKU" value={sku} onInput={(e) => setSku(e.currentTarget.value)} aria-label="SKU" data-testid="stock-sku" />
            <button type="submit">Find</button></form>
          <button onClick={exportCsv}>Export CSV</button>
          {write && <label class="button">Import CSV<input type="file" accept=".csv,text/csv" hidden onChange={(e) => void importCsv(e.currentTarget.files?.[0])} data-testid="stock-import" /></label>}
        </div></div>
      <table class="lines" data-testid="stock-table"><thead><tr><th>Where</th><th>SKU</th><th class="num">On hand</th>{write && <th>Change</th>}</tr></thead>
        <tbody>{rows.map((r) => (
          <tr data-sku={r.sku} data-location={r.location}><td class="loc">{r.location}</td><td><code>{r.sku}</code></td><td class="num" data-testid="on-hand">{r.on_hand}</td>
            {write && <td><div class="row gap"><button onClick={() => adjust(r, 1)} aria-label={`One more ${r.sku} at ${r.location}`}>+1</button><button onClick={() => adjust(r, -1)} aria-label={`One less ${r.sku} at ${r.location}`}>−1</button>
              <form class="row gap" onSubmit={(e) => { e.preventDefault(); void count(r, (e.currentTarget.elements.namedItem('n') as HTMLInputElement).value); }}>
                <input name="n" class="qty" type="number" min={0} placeholder="count" aria-label={`Counted ${r.sku}`} /><button type="submit">Set</button></form></div></td>}</tr>))}</tbody></table>
      {rows.length === 0 && <p class="muted">No stock recorded{sku ? ` for ${sku}` : ''}.</p>}
      <SkuWeights />
    </section>
  );
}

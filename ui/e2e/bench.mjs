// Station UI benchmarks (BENCHMARKS.md), in Debian's Chromium against `packbench demo`:
//  - the order queue with 10,000 orders: first render (data in hand → list painted) and each
//    filter change (input → list painted), from the UI's own performance marks;
//  - scan (Enter of the wedge) → visible feedback (the frame with the flash painted), p99 over
//    wrong and right scans.
// Run: make bench-ui   (or: cd ui && node e2e/bench.mjs; PACKBENCH_BIN picks the hub build)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { OUT, api, launchBrowser, startDemo } from './harness.mjs';

// 11,000 Shopify orders leave over 10,000 open in the queue (some are on hold or cancelled).
const ORDERS = Number(process.env.BENCH_ORDERS ?? 11_000);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const stats = (xs) => ({ n: xs.length, p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99), max: Math.max(...xs) });
const fmt = (s) => `n=${s.n} p50=${s.p50.toFixed(1)} ms p95=${s.p95.toFixed(1)} ms p99=${s.p99.toFixed(1)} ms max=${s.max.toFixed(1)} ms`;

const t0 = Date.now();
const demo = await startDemo({ orders: ORDERS });
console.log(`demo hub with ${ORDERS} orders ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const ctx = await launchBrowser();
const page = ctx.pages()[0] ?? (await ctx.newPage());
const measures = (name) => page.evaluate((n) => performance.getEntriesByName(n, 'measure').map((e) => e.duration), name);
const waitMeasures = (name, count) => page.waitForFunction(([n, c]) => performance.getEntriesByName(n, 'measure').length >= c, [name, count], { timeout: 60_000 });
const result = {};
try {
  await page.goto(`${demo.hub}/`);
  await page.fill('input[name=username]', 'packer');
  await page.fill('input[name=password]', demo.packer);
  const loginAt = Date.now();
  await page.click('button[type=submit]');
  await page.waitForFunction(() => performance.getEntriesByName('queue:loaded').length > 0, null, { timeout: 120_000 });
  const loadMs = Date.now() - loginAt;
  await waitMeasures('queue:render', 1);
  const shown = await page.textContent('[data-testid=queue-shown]');
  const first = (await measures('queue:render'))[0];
  console.log(`queue: ${shown}; login → all orders fetched ${loadMs} ms (network + hub, not the render)`);
  console.log(`queue first render (${ORDERS} orders in hand → painted): ${first.toFixed(1)} ms`);

  // Filter changes: status chips, typed search, "mine".
  const chips = ['pending', 'processing', 'open', 'picked', 'packed', 'open'];
  let count = (await measures('queue:render')).length;
  const change = async (act) => { await act(); count++; await waitMeasures('queue:render', count); };
  for (let round = 0; round < 5; round++) {
    for (const c of chips) await change(() => page.click(`[data-status=${c}]`));
    for (const ch of ['1', '0', '5']) await change(() => page.type('[data-testid=queue-search]', ch));
    await change(() => page.fill('[data-testid=queue-search]', ''));
    await change(() => page.click('text=Mine only'));
    await change(() => page.click('text=Mine only'));
  }
  const filters = (await measures('queue:render')).slice(1);
  result.queue = { orders: ORDERS, first_render_ms: first, filter: stats(filters), load_ms: loadMs };
  console.log(`queue filter change (input → painted): ${fmt(result.queue.filter)}`);

  // Scans: take orders, scan a wrong item and then every right one, order after order.
  const admin = await api(demo.hub, 'demo', 'admin', demo.admin);
  await page.click('[data-status=open]');
  const wrong = '036000291452'; // a valid UPC-A that is in no demo order
  let scans = 0;
  let lastCode = '';
  const scan = async (code) => {
    lastCode = code;
    await page.keyboard.type(code, { delay: 2 });
    await page.keyboard.press('Enter');
    scans++;
    await waitMeasures('scan', scans).catch((e) => { throw new Error(`scan ${scans} (${code}) never answered: ${e}`); });
  };
  for (let o = 0; o < 25; o++) {
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=take-next]');
    await page.keyboard.press('n');
    await page.waitForSelector('[data-testid=order][data-status=processing]');
    const id = page.url().split('/orders/')[1];
    const order = await admin('GET', `orders/${id}`);
    await page.focus('[data-testid=scan-field]');
    for (let w = 0; w < 6; w++) await scan(wrong);
    for (const line of order.lines) for (let i = 0; i < line.quantity; i++) await scan(line.barcode ?? line.sku);
    await page.waitForSelector('[data-testid=pack-step]');
  }
  const all = await measures('scan');
  result.scan = stats(all);
  console.log(`scan → feedback painted: ${fmt(result.scan)}`);
  result.machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`;
  result.date = new Date().toISOString();
  writeFileSync(join(OUT, 'bench.json'), JSON.stringify(result, null, 2));
} catch (e) {
  console.error(e, await page.textContent('[data-testid=scan-answer]').catch(() => ''));
  console.error('diag', await page.evaluate(() => ({ m: performance.getEntriesByName('scan', 'measure').length, marks: performance.getEntriesByName('scan:enter').length, fb: performance.getEntriesByName('scan:feedback').length })));
  await page.screenshot({ path: join(OUT, 'bench-failure.png') }).catch(() => {});
  process.exitCode = 1;
} finally {
  await ctx.close();
  demo.stop();
}

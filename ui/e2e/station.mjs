// The whole bench in a real browser against a real hub on the sims: login → import from
// Shopify → take an order → scan every item (one wrong scan) → weigh on the simulated scale →
// buy the label → label preview → reprint → tracking to delivered. Screenshots in ui/e2e/out/.
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { OUT, api, check, launchBrowser, startDemo } from './harness.mjs';

const demo = await startDemo({ orders: 12 });
const ctx = await launchBrowser();
const page = ctx.pages()[0] ?? (await ctx.newPage());
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
const shot = (name) => page.screenshot({ path: join(OUT, `${name}.png`) });
/** Types like a keyboard-wedge scanner: a burst of keys, then Enter. */
const wedge = async (code) => { await page.keyboard.type(code, { delay: 4 }); await page.keyboard.press('Enter'); };

try {
  console.log(`hub ${demo.hub}`);
  const admin = await api(demo.hub, 'demo', 'admin', demo.admin);
  // This bench asks the packer to scan each label onto its box.
  await admin('POST', 'device-settings', { station_id: 'BENCH-7', settings: { label_to_box: true } });

  // Login: a wrong password is said plainly, then the right one gets in.
  await page.goto(`${demo.hub}/`);
  await page.fill('input[name=username]', 'packer');
  await page.fill('input[name=password]', 'not-the-password');
  await page.fill('input[name=station]', 'BENCH-7');
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=login-error]');
  check((await page.textContent('[data-testid=login-error]')).includes('Wrong username or password'), 'a wrong password gets a plain answer');
  await shot('01-login-error');
  await page.fill('input[name=password]', demo.packer);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=queue-list] .qrow');
  check((await page.textContent('[data-testid=who]')).includes('BENCH-7'), 'logged in at the chosen station');
  check(!(await page.isVisible('[data-nav=settings]')), 'a packer does not see Settings');
  await page.waitForSelector('[data-testid=live].on');
  await shot('02-queue');

  // Import from Shopify (the sim) through Batches.
  await page.click('[data-nav=batches]');
  await page.click('[data-testid=sync-shopify]');
  await page.waitForSelector('[data-testid=sync-result]');
  check(true, 'Shopify import ran from the Batches screen');
  await shot('03-sync');

  // Take the next order with the keyboard.
  await page.keyboard.press('Alt+1');
  await page.waitForSelector('[data-testid=queue-list] .qrow');
  await page.keyboard.press('n');
  await page.waitForSelector('[data-testid=order][data-status=processing]');
  const name = (await page.textContent('[data-testid=order-name]')).split(' ')[0];
  const id = page.url().split('/orders/')[1];
  const order = await admin('GET', `orders/${id}`);
  check(order.status === 'processing' && order.name === name, `took ${name}; it is being picked`);

  // Scan: one wrong item first, then every right one (UPC-A as printed on the product).
  await page.focus('[data-testid=scan-field]');
  await wedge('036000291452'); // a valid UPC-A that is in no demo order
  await page.waitForSelector('[data-testid=sticky-error]');
  check((await page.getAttribute('#flash', 'data-verdict')) === 'wrong', 'a wrong scan flashes red');
  await shot('04-wrong-scan');
  const afterWrong = await admin('GET', `orders/${id}`);
  check(afterWrong.lines.every((l) => l.picked === 0), 'a wrong scan changes nothing');
  // The error stands until the packer answers it: another wrong scan keeps it, Esc clears it.
  await wedge('036000291452');
  await page.waitForFunction(() => /Still stopped/.test(document.querySelector('[data-testid=sticky-text]')?.textContent ?? ''));
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=sticky-error]', { state: 'detached' });
  check(true, 'a wrong scan stays on screen through another scan, until Esc');
  // While it stands, even a right item is not counted: its scan only answers the error.
  await wedge('036000291452');
  await page.waitForSelector('[data-testid=sticky-error]');
  await wedge(order.lines[0].barcode.slice(2));
  await page.waitForSelector('[data-testid=sticky-error]', { state: 'detached' });
  await page.waitForFunction(() => /Cleared/.test(document.querySelector('[data-testid=scan-answer]')?.textContent ?? ''));
  check((await admin('GET', `orders/${id}`)).lines.every((l) => l.picked === 0), 'a scan while an error stands is not a pick');
  let n = 0;
  for (const line of order.lines) {
    for (let i = 0; i < line.quantity; i++) {
      await wedge(line.barcode.slice(2)); // GTIN-14 → the UPC-A on the box
      n++;
      // The last right scan may move the order to packing before the progress is read.
      await page.waitForFunction((k) => document.querySelector('[data-testid=pick-progress]')?.textContent?.startsWith(`${k} /`)
        || document.querySelector('[data-testid=pack-step]'), n);
    }
  }
  check((await page.getAttribute('#flash', 'data-verdict')) === 'done', 'the last right scan says the order is complete');
  await page.waitForSelector('[data-testid=pack-step]');
  check((await admin('GET', `orders/${id}`)).status === 'picked', `all ${n} units picked on the hub`);
  await shot('05-picked');

  // Weigh on the simulated scale: nothing packs until the reading is stable, and a box off
  // what its items and box should weigh is held until it is right or someone allowed says why.
  check(await page.isDisabled('[data-testid=pack]'), 'pack waits for a weight');
  const expected = (await admin('GET', `orders/${id}`)).expected_weight;
  check(expected.checked && expected.items > 0 && expected.unknown_skus.length === 0, `the order should weigh ${expected.items} ${expected.unit} (its items' weights came from Shopify)`);
  await page.keyboard.press('2'); // box preset 2: M, 0.5 lb empty
  await page.waitForFunction((v) => document.querySelector('[data-testid=expected-weight]')?.getAttribute('data-value') === v, (expected.items + 0.5).toFixed(3));
  check(true, 'the screen says what the box should weigh, box included');
  // Two boxes (M each): the first weighs 1 lb, the second the rest, 1.3 lb too much in all.
  const place = async (lb) => {
    await page.fill('[data-testid=sim-load]', String(lb));
    await page.click('[data-testid=sim-place]');
    await page.waitForSelector('[data-testid=scale][data-state=moving]');
    await page.waitForSelector('[data-testid=scale][data-state=stable]');
  };
  await page.click('[data-testid=sim-toggle]');
  await place(1);
  await page.keyboard.press('a');
  await page.waitForSelector('[data-testid=boxes-weighed] li');
  await page.waitForFunction((v) => document.querySelector('[data-testid=expected-weight]')?.getAttribute('data-value') === v, (expected.items + 1.0).toFixed(3));
  check(true, 'a second box: the first is listed, and both boxes\' tare counts');
  const heavy = Math.round((expected.items + 1.3) * 10) / 10;
  await place(heavy);
  await shot('06-weighed');
  await page.click('[data-testid=pack]');
  await page.waitForSelector('[data-testid=sticky-error]');
  const heldText = await page.textContent('[data-testid=sticky-text]');
  check(/lb heavy/.test(heldText) && /expected/.test(heldText), `two boxes 1.3 lb heavy in all are held: "${heldText}"`);
  check(await page.isDisabled('[data-testid=pack]'), 'no pack while the hold stands');
  check((await admin('GET', `orders/${id}`)).status === 'picked', 'a held box is not packed');
  await shot('06b-weight-held');
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=sticky-error]', { state: 'detached' });
  check(await page.isEnabled('[data-testid=pack]'), 'Esc answers the hold; the box can be weighed again');
  // The packer may not pack it anyway until an admin names them; then with a reason they may.
  await page.click('[data-testid=pack]');
  await page.waitForSelector('[data-testid=weight-override]');
  await page.fill('[data-testid=override-reason]', 'gift wrap the customer paid for');
  await page.click('[data-testid=override-pack]');
  await page.waitForFunction(() => /not allowed|may pack a box off/i.test(document.body.textContent ?? ''));
  check((await admin('GET', `orders/${id}`)).status === 'picked', 'an operator not named may not pack a held box');
  await admin('PATCH', 'settings', { weight_check: { may_override: ['packer'] } });
  await page.click('[data-testid=override-pack]');
  await page.waitForSelector('[data-testid=ship-step]');
  const packed = await admin('GET', `orders/${id}`);
  const override = packed.events.at(-1);
  check(packed.status === 'packed' && packed.package.weight.value === 1 && packed.more_boxes?.[0]?.weight.value === heavy && packed.package.box?.startsWith('M'),
    `packed into two M boxes: 1 lb and ${heavy} lb`);
  check(override.kind === 'weight_override' && override.payload.reason === 'gift wrap the customer paid for' && override.payload.weight.verdict === 'held',
    'the override is kept as an event with its reason and the weighing');

  // Ship: prices per service, then buy; the label prints by itself and shows on screen.
  await page.waitForFunction(() => /\$/.test(document.querySelector('[data-testid=service-ground]')?.textContent ?? ''));
  await shot('07-rates');
  // UPS refuses for a while (429s past the client's retries): no label, and the failure stands
  // with its reason until the packer answers it; only then can the label be bought.
  await fetch(`${demo.ups}/__sim/ups/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ throttle_next: 10 }) });
  await page.click('[data-testid=buy-label]');
  await page.waitForSelector('[data-testid=sticky-error]', { timeout: 30_000 });
  check(/rate limit/i.test(await page.textContent('[data-testid=sticky-text]')), 'a failed purchase says why');
  check(await page.isDisabled('[data-testid=buy-label]'), 'no new purchase until the failure is answered');
  const afterFailure = (await admin('GET', `orders/${id}`)).shipments;
  check(afterFailure.every((s) => s.status === 'failed' && !s.tracking_number), `the failed purchase bought nothing (${JSON.stringify(afterFailure.map((s) => s.status))})`);
  await shot('07b-purchase-failed');
  await fetch(`${demo.ups}/__sim/ups/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ throttle_next: 0 }) });
  await page.click('[data-testid=sticky-ack]');
  await page.waitForSelector('[data-testid=sticky-error]', { state: 'detached' });
  await page.click('[data-testid=buy-label]');
  await page.waitForSelector('[data-testid=label-preview]');
  await page.waitForFunction(() => { const i = document.querySelector('[data-testid=label-preview]'); return i instanceof HTMLImageElement && i.complete && i.naturalWidth > 0; });
  const tracking = await page.textContent('[data-testid=tracking-number]');
  check(/^1Z[0-9A-Z]{16}$/.test(tracking), `label bought: ${tracking}`);
  const secondBox = await page.textContent('[data-testid=box-tracking]');
  check(/^1Z[0-9A-Z]{16}$/.test(secondBox) && secondBox !== tracking, `the second box has its own label: ${secondBox}`);
  await page.waitForSelector('[data-testid=sim-panel][data-count="2"]');
  check(true, 'both labels were sent to the printer, once each');
  // Label to box: another label on this box is refused loudly until the right one is scanned.
  await page.waitForSelector('[data-testid=label-to-box]');
  await page.click('[data-testid=tracking-number]'); // focus off any field
  await wedge('1Z999AA10123456784');
  await page.waitForSelector('[data-testid=sticky-error]');
  check(/not a label bought here/.test(await page.textContent('[data-testid=sticky-text]')), 'a label that is not this order\'s is refused loudly');
  await shot('08a-wrong-label');
  await wedge(tracking);
  await page.waitForFunction(() => /1 of 2 done/.test(document.querySelector('[data-testid=label-to-box]')?.textContent ?? ''));
  check(!(await page.isVisible('[data-testid=sticky-error]')), 'a right label answers the error; one box to go');
  await wedge(secondBox);
  await page.waitForSelector('[data-testid=label-boxed]');
  const boxedShipment = (await admin('GET', `orders/${id}`)).shipments.find((s) => s.tracking_number === tracking);
  check(typeof boxedShipment.boxed_at === 'string' && typeof boxedShipment.more_packages[0].boxed_at === 'string', 'the hub recorded each label on its box');
  await shot('08-shipped');
  const shipped = await admin('GET', `orders/${id}`);
  const bought = (o) => o.shipments.filter((s) => s.status !== 'failed');
  check(shipped.status === 'shipped' && bought(shipped).length === 1, 'the hub has one shipment (two boxes) for the order');

  // Reprint comes from the station, not from UPS: still one shipment bought.
  await page.keyboard.press('p');
  await page.waitForSelector('[data-testid=sim-panel][data-count="4"]');
  check(bought(await admin('GET', `orders/${id}`)).length === 1, 'reprint printed again without buying again');

  // Tracking to delivered: the UPS sim delivers in 2 s now; refresh until it says so.
  await fetch(`${demo.ups}/__sim/ups/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transit_secs: 2 }) });
  await new Promise((r) => setTimeout(r, 2500));
  for (let i = 0; i < 20 && (await page.getAttribute('[data-testid=order]', 'data-status')) !== 'delivered'; i++) {
    await page.click('[data-testid=refresh-tracking]');
    await page.waitForTimeout(500);
  }
  check((await page.getAttribute('[data-testid=order]', 'data-status')) === 'delivered', 'tracking followed the parcel to delivered');
  await page.waitForSelector('[data-testid=tracking] li[data-kind=delivered]');
  await shot('09-delivered');

  // Back in the queue, scanning another order's barcode opens it.
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=queue-list] .qrow');
  const other = (await admin('GET', 'orders?status=pending&limit=1'))[0];
  await page.click('[data-testid=queue-shown]'); // focus off any field: the scan is taken anyway
  await wedge(other.name.replace('#', ''));
  await page.waitForSelector(`[data-testid=order-name]:has-text("${other.name}")`);
  check(true, `scanning ${other.name} opened it`);

  // The admin sees admin things; dark and light both render.
  await page.click('text=Log out');
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', demo.admin);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-nav=settings]');
  // Cancel needs a reason and a confirmation.
  const victim = (await admin('GET', 'orders?status=pending&limit=1'))[0];
  await page.goto(`${demo.hub}/#/orders/${victim.id}`);
  await page.click('[data-testid=cancel-order]');
  await page.waitForSelector('[data-testid=confirm]');
  check(await page.isDisabled('[data-testid=confirm-ok]'), 'cancel waits for a reason');
  await page.fill('[data-testid=confirm-reason]', 'customer asked by phone');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid=order][data-status=cancelled]');
  check((await admin('GET', `orders/${victim.id}`)).cancel_reason === 'customer asked by phone', 'cancelled with the reason given');

  // Batch ship: three orders packed (set up through the API), labels bought from Batches.
  const ready = (await admin('GET', 'orders?status=pending&limit=3'));
  for (const o of ready) {
    const full = await admin('GET', `orders/${o.id}`);
    await admin('POST', `orders/${o.id}/operations`, { action: 'assign' });
    await admin('POST', `orders/${o.id}/operations`, { action: 'pick', items: full.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })) });
    // Packed at what the items weigh: within the tolerance (or unknown, if a SKU has no weight).
    await admin('POST', `orders/${o.id}/operations`, { action: 'pack', package: { weight: full.expected_weight.items ?? 1.5 } });
  }
  await page.click('[data-nav=batches]');
  await page.waitForSelector('[data-testid=packed-orders] tbody tr');
  await page.click('[data-testid=batch-ship]');
  await page.waitForSelector('[data-testid=batch-ship-result]');
  check(/3 shipped/.test(await page.textContent('[data-testid=batch-ship-result]')), 'batch ship bought 3 labels and says so');
  await page.waitForSelector('[data-testid=sim-panel][data-count="7"]');
  check(true, 'and printed each of them');
  check(await page.isVisible('[data-testid=batch-progress]'), 'batch ship showed its progress');
  await shot('10-batch-ship');
  for (const o of ready) check((await admin('GET', `orders/${o.id}`)).status === 'shipped', `${o.name} shipped by the batch`);

  // End of day: 4 parcels leave; the batch's 3 labels were never scanned onto a box; V voids one.
  await page.click('[data-nav="end of day"]');
  await page.waitForSelector('[data-testid=eod-parcels]');
  check((await page.textContent('[data-testid=eod-parcels]')) === '5', 'end of day: 5 parcels leave today (two boxes, then three)');
  check((await page.$$('[data-testid=not-boxed]')).length === 3, 'the 3 batch labels are listed as never scanned onto a box');
  check((await page.getAttribute('[data-service=ground]', 'data-parcels')) === '5', 'all 5 by UPS Ground, drawn as a bar');
  await shot('10c-end-of-day');
  const firstUnboxed = await page.getAttribute('[data-testid=not-boxed]', 'data-shipment');
  await page.keyboard.press('v');
  await page.waitForSelector('[data-testid=confirm]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=not-boxed]').length === 2);
  check((await page.textContent('[data-testid=eod-parcels]')) === '4', 'one key voided a label never boxed: 4 parcels leave');
  const eod = await admin('GET', 'end-of-day');
  check(eod.voided.length === 1 && eod.voided[0].shipment_id === firstUnboxed, 'the hub lists the void');
  const adminLogin = await (await fetch(`${demo.hub}/api/demo/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: demo.admin }) })).json();
  const sheet = await fetch(`${demo.hub}/api/demo/end-of-day/count-sheet`, { headers: { authorization: `Bearer ${adminLogin.data.token}` } });
  check(sheet.headers.get('content-type') === 'application/pdf' && (await sheet.text()).startsWith('%PDF'), 'the count sheet is a PDF');

  // Stock: +1 on a shelf, then a count.
  await page.click('[data-nav=stock]');
  await page.fill('[data-testid=stock-sku]', 'PROD-003');
  await page.keyboard.press('Enter');
  const row = '[data-testid=stock-table] tr[data-sku="PROD-003"]';
  await page.waitForSelector(row);
  const before = Number(await page.textContent(`${row} [data-testid=on-hand]`));
  await page.click(`${row} >> text=+1`);
  await page.waitForFunction(([r, n]) => document.querySelector(`${r} [data-testid=on-hand]`)?.textContent === String(n), [row, before + 1]);
  await page.fill(`${row} input[name=n]`, '50');
  await page.click(`${row} >> text=Set`);
  await page.waitForFunction((r) => document.querySelector(`${r} [data-testid=on-hand]`)?.textContent === '50', row);
  const stock = await admin('GET', 'inventory?sku=PROD-003');
  check(stock.length === 1 && stock[0].on_hand === 50, `stock adjusted (+1 from ${before}) then counted to 50 on the hub`);
  // An order with a SKU of no known weight says so before it is packed: forget one SKU's weight.
  const waiting = (await admin('GET', 'orders?status=pending&limit=1'))[0];
  const waitingSkus = (await admin('GET', `orders/${waiting.id}`)).lines.map((l) => l.sku);
  const known = await admin('GET', 'inventory/weights');
  const was = known.find((w) => waitingSkus.includes(w.sku));
  const sku = was.sku;
  await admin('PATCH', 'inventory/weights', { weights: [{ sku, weight: null }] });
  await page.goto(`${demo.hub}/#/orders/${waiting.id}`);
  await page.waitForSelector('[data-testid=order-weight][data-known=false]');
  check((await page.textContent('[data-testid=order-weight]')).includes(sku), `${waiting.name} says its weight is unknown, naming ${sku}`);
  await admin('PATCH', 'inventory/weights', { weights: [{ sku, weight: was.weight.value, unit: was.weight.unit }] });
  await page.reload();
  await page.waitForSelector('[data-testid=order-weight][data-known=true]');
  check(true, `with ${sku} weighed again, ${waiting.name} says what it should weigh`);
  await page.click('[data-nav=stock]');
  await page.waitForSelector('[data-testid=stock-table]');
  // A unit weight weighed at the bench: PROD-012 has none from Shopify.
  await page.waitForSelector('[data-testid=sku-weights]');
  check(!(await page.isVisible('[data-testid=sku-weight][data-sku="PROD-012"]')), 'the ink has no weight from Shopify');
  await page.fill('[data-testid=weight-sku]', 'PROD-012');
  await page.fill('[data-testid=weight-value]', '0.35');
  await page.click('[data-testid=weight-set]');
  await page.waitForSelector('[data-testid=sku-weight][data-sku="PROD-012"]');
  const inkWeight = (await admin('GET', 'inventory/weights')).find((w) => w.sku === 'PROD-012');
  check(inkWeight?.weight.value === 0.35 && inkWeight.source === 'bench', 'a unit weight set on the stock screen is kept as the bench\'s');
  await shot('10b-weights');

  // A privacy request from the shop (a signed customers/data_request webhook) shows in Settings.
  const webhookSecret = 'e2e-webhook-secret';
  await admin('PATCH', 'settings', { shopify: { api_secret: webhookSecret } });
  const privacyBody = JSON.stringify({ shop_id: 1, shop_domain: 'packbench-demo.myshopify.com', customer: { id: 4242, email: 'ann@example.com' }, orders_requested: [1], data_request: { id: 1 } });
  const delivered = await fetch(`${demo.hub}/api/demo/webhooks/shopify`, {
    method: 'POST', body: privacyBody,
    headers: { 'content-type': 'application/json', 'x-shopify-topic': 'customers/data_request', 'x-shopify-webhook-id': 'e2e-privacy-1',
      'x-shopify-hmac-sha256': createHmac('sha256', webhookSecret).update(privacyBody).digest('base64') },
  });
  check(delivered.status === 200, `a signed privacy webhook is accepted (${delivered.status})`);
  for (let i = 0; i < 50 && !(await admin('GET', 'privacy-requests')).some((r) => r.completed_at); i++) await page.waitForTimeout(100);
  await page.click('[data-nav=settings]');
  await page.waitForSelector('[data-testid=settings]');
  check(!(await page.content()).includes('sim-secret') && !(await page.content()).includes(webhookSecret), 'settings never show a secret');
  await page.waitForSelector('[data-testid=privacy-request][data-kind=customer_data_request]');
  check((await page.textContent('[data-testid=privacy-state]')).includes('0 order(s) found'), 'the data request is listed with what the bench found');
  check((await page.inputValue('[data-testid=may-override]')) === 'packer', 'Settings show who may pack a held box');
  await shot('11-settings');
  await page.click('[data-nav=devices]');
  await page.waitForSelector('[data-testid=found-devices]');
  await page.click('[data-testid=test-print]');
  await page.waitForSelector('[data-testid=printer-status]');
  await page.click('button[title="Dark or light"]');
  await shot('12-devices-theme');
  // The bench screen size: the queue in the other theme at 1920x1080.
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.click('[data-nav=orders]');
  await page.waitForSelector('[data-testid=queue-list] .qrow');
  await shot('13-queue-1920');
  check(errors.length === 0, `no script errors (${errors.join('; ')})`);
  console.log('station e2e: all passed');
} catch (e) {
  await shot('failure').catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await ctx.close();
  demo.stop();
}

import { useEffect, useState } from 'preact/hooks';
import type { BoxPreset, DeviceSettings } from '../api/types';
import { useStation } from '../station';
import type { DetectedDevice, PrinterStatus } from '../devices/types';
import { SCALE_WORDS, chosenDevice } from '../devices/types';
import { useScale, DEFAULT_BOXES, SimScale } from './order';
import { weight } from '../lib/format';

/** A 4x6 test label in ZPL: a frame, the station's name and a Code 128 to scan back. */
export function testLabel(station: string, dpi: number): string {
  const w = dpi === 300 ? 1218 : 812;
  const h = dpi === 300 ? 1827 : 1218;
  return `^XA^PW${w}^LL${h}^FO20,20^GB${w - 40},${h - 40},4^FS^FO60,80^A0N,60,60^FDPackbench test label^FS` +
    `^FO60,170^A0N,40,40^FDStation ${station} - ${dpi} dpi^FS^FO60,260^BY3^BCN,160,Y,N,N^FD${station}^FS^XZ\n`;
}

export function DevicesScreen() {
  const st = useStation();
  const [found, setFound] = useState<DetectedDevice[] | null>(null);
  const [d, setD] = useState<DeviceSettings>(st.deviceSettings);
  const [status, setStatus] = useState<PrinterStatus | null>(null);
  const reading = useScale();
  const admin = st.can('device_settings.write');
  const station = st.session.station_id ?? 'BENCH-1';

  const scan = () => st.devices.list().then(setFound, st.fail);
  useEffect(() => { void scan(); }, []);
  const printer = chosenDevice(d, 'printer');

  const save = async () => {
    try {
      const { station_id: _, ...doc } = d;
      const saved = await st.backend.saveDeviceSettings(station, doc);
      st.setDeviceSettings(saved);
      await st.devices.useScale(chosenDevice(saved, 'scale'));
      await st.devices.useScanner?.(saved.scanner ?? null);
      st.notify(`Devices saved for ${station}`);
    } catch (e) { st.fail(e); }
  };
  const testPrint = async () => {
    if (!printer) { st.notify('Choose a label printer first'); return; }
    try {
      const dpi = d.dpi ?? 203;
      setStatus(await st.devices.print(printer, { format: 'zpl', bytes: new TextEncoder().encode(testLabel(station, dpi)), title: 'test label', settings: d }));
      st.notify('Test label sent');
    } catch (e) { st.fail(e); }
  };
  const checkPrinter = async () => { if (printer) { try { setStatus(await st.devices.printerStatus(printer)); } catch (e) { st.fail(e); } } };

  const of = (kind: DetectedDevice['kind']) => (found ?? []).filter((x) => x.kind === kind);
  const pick = (key: 'scale' | 'printer' | 'scanner' | 'slip_printer', kind: DetectedDevice['kind'], label: string) => (
    <label>{label}
      <select value={d[key] ?? ''} disabled={!admin} onChange={(e) => setD({ ...d, [key]: e.currentTarget.value || null })} data-testid={`choose-${key}`}>
        <option value="">None</option>
        {of(kind).map((x) => <option value={x.id}>{x.name} ({x.transport})</option>)}
        {d[key] && !of(kind).some((x) => x.id === d[key]) && <option value={d[key] ?? ''}>{d[key]} (not found now)</option>}
      </select></label>);
  const boxes = d.boxes?.length ? d.boxes : DEFAULT_BOXES;
  const setBox = (i: number, b: Partial<BoxPreset>) => setD({ ...d, boxes: boxes.map((x, j) => (j === i ? { ...x, ...b } : x)) });

  return (
    <section class="devices" data-testid="devices">
      <div class="row between wrap"><h1>Devices at {station}</h1>
        <div class="row gap"><button onClick={scan}>Look for devices again</button>{admin && <button class="primary big" onClick={save} data-testid="save-devices">Save</button>}</div></div>
      {!admin && <p class="muted">Only an admin can change which devices this station uses.</p>}
      <div class="grid2">
        <div class="card"><h2>Found on this computer</h2>
          {found === null ? <p class="muted">Looking…</p> : found.length === 0 ? <p class="muted">No scales, printers or scanners found. Check cables and power.</p> :
            <ul data-testid="found-devices">{found.map((x) => <li><strong>{x.kind}</strong>: {x.name} <span class="muted">({x.transport}, {x.id})</span>{x.note && <div class="small error-text">{x.note}</div>}</li>)}</ul>}
          {st.devices.kind === 'simulated' && <p class="muted small">This is a browser: the bench is simulated (panel at the bottom right). Keyboard-wedge scanners work as they are.</p>}
        </div>
        <div class="card"><h2>Scale</h2>
          {pick('scale', 'scale', 'Scale')}
          <div class={`scale ${reading.state}`} data-testid="test-weigh"><div class="scale-weight">{weight(reading.weight)}</div><div>{SCALE_WORDS[reading.state]}</div>{reading.problem && <div class="small error-text">{reading.problem}</div>}</div>
          <button onClick={() => void st.devices.zeroScale()}>Zero the scale</button>
          {st.devices.kind === 'desktop' && (d.scale ?? 'sim:scale') === 'sim:scale' && <SimScale />}
        </div>
        <div class="card"><h2>Label printer</h2>
          {pick('printer', 'printer', 'Label printer')}
          <div class="row gap">
            <label>Format<select value={d.label_format ?? 'zpl'} disabled={!admin} onChange={(e) => setD({ ...d, label_format: e.currentTarget.value as 'zpl' })}>
              <option value="zpl">ZPL (Zebra-class thermal)</option><option value="png">PNG image</option><option value="pdf">PDF (laser, 4x6)</option></select></label>
            <label>Resolution<select value={String(d.dpi ?? 203)} disabled={!admin} onChange={(e) => setD({ ...d, dpi: Number(e.currentTarget.value) as 203 })}>
              <option value="203">203 dpi</option><option value="300">300 dpi</option></select></label>
            <label>Darkness<input type="number" min={0} max={30} value={d.darkness ?? ''} disabled={!admin} onInput={(e) => setD({ ...d, darkness: e.currentTarget.value === '' ? null : Number(e.currentTarget.value) })} /></label>
          </div>
          <label class="check"><input type="checkbox" checked={d.auto_print !== false} disabled={!admin} onChange={(e) => setD({ ...d, auto_print: e.currentTarget.checked })} /> Print the label as soon as it is bought</label>
          <label class="check"><input type="checkbox" checked={d.label_to_box === true} disabled={!admin} onChange={(e) => setD({ ...d, label_to_box: e.currentTarget.checked })} data-testid="label-to-box-setting" /> After printing, the packer scans the label on the box (catches a label on the wrong box)</label>
          <div class="row gap"><button onClick={testPrint} data-testid="test-print">Test print</button><button onClick={checkPrinter}>Printer status</button></div>
          {status && <p data-testid="printer-status" class={status.state === 'ready' ? '' : 'error-text'}>{status.message}</p>}
          {pick('slip_printer', 'printer', 'Packing slip printer (laser)')}
        </div>
        <div class="card"><h2>Scanner</h2>
          {pick('scanner', 'scanner', 'Scanner read by Packbench (HID point-of-sale, or serial mode)')}
          <p class="muted small">Keyboard-wedge scanners need no setup: scan anywhere in Packbench.</p>
          <h2>Boxes</h2>
          <table class="lines small"><thead><tr><th>Name</th><th>L</th><th>W</th><th>H (in)</th><th title="The empty box's weight, in the warehouse's weight unit">Tare</th></tr></thead><tbody>{boxes.map((b, i) => (
            <tr><td><input value={b.name} disabled={!admin} onInput={(e) => setBox(i, { name: e.currentTarget.value })} /></td>
              {(['length', 'width', 'height'] as const).map((k) => <td><input class="qty" type="number" min={0.1} step="0.1" value={b[k]} disabled={!admin} onInput={(e) => setBox(i, { [k]: Number(e.currentTarget.value) })} /></td>)}
              <td><input class="qty" type="number" min={0} step="0.01" value={b.tare ?? ''} disabled={!admin} onInput={(e) => setBox(i, { tare: e.currentTarget.value === '' ? undefined : Number(e.currentTarget.value) })} aria-label={`Tare of ${b.name}`} data-testid="box-tare" /></td></tr>))}</tbody></table>
          {admin && <button onClick={() => setD({ ...d, boxes: [...boxes, { name: 'New box', length: 12, width: 12, height: 12 }] })}>Add a box</button>}
        </div>
      </div>
    </section>
  );
}

// Labels on screen and on the printer: the preview is the hub's PNG of the label; the printer
// gets the format its station is set up for (ZPL for thermal printers, PDF for laser).
import type { Shipment } from '../api/types';
import type { Station } from '../station';
import { chosenDevice } from '../devices/types';

/** Which box's label (1: the first) as a query, when it is not the first. */
const ofBox = (box: number) => (box > 1 ? `?package=${box}` : '');

export async function labelPreview(st: Station, shipmentId: string, box = 1): Promise<string> {
  const png = await st.backend.bytes(`/api/${encodeURIComponent(st.session.tenant)}/labels/${encodeURIComponent(shipmentId)}/png${ofBox(box)}`);
  return URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
}

/** Sends the label of a shipment's box (1: the first) to the station's label printer. */
export async function printLabel(st: Station, shipmentId: string, tracking: string | null, box = 1): Promise<void> {
  const d = st.deviceSettings;
  const printer = chosenDevice(d, 'printer');
  if (!printer) throw new Error('No label printer is chosen for this station. Choose one under Devices.');
  const format = d.label_format ?? 'zpl';
  const bytes = await st.backend.bytes(`/api/${encodeURIComponent(st.session.tenant)}/labels/${encodeURIComponent(shipmentId)}/${format}${ofBox(box)}`);
  await st.devices.print(printer, { format, bytes, title: `label ${tracking ?? shipmentId}`, settings: d });
}

/** Every box's tracking number of a shipment, box 1 first. */
export function boxesOf(s: Shipment): { box: number; tracking: string | null; boxedAt: string | null }[] {
  return [{ box: 1, tracking: s.tracking_number, boxedAt: s.boxed_at ?? null },
    ...(s.more_packages ?? []).map((p) => ({ box: p.package, tracking: p.tracking_number, boxedAt: p.boxed_at }))];
}

/** Prints every box's label of a shipment, box 1 first. */
export async function printLabels(st: Station, s: Shipment): Promise<void> {
  for (const b of boxesOf(s)) await printLabel(st, s.id, b.tracking, b.box);
}

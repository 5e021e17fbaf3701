// Labels on screen and on the printer: the preview is the hub's PNG of the label; the printer
// gets the format its station is set up for (ZPL for thermal printers, PDF for laser).
import type { Station } from '../station';
import { chosenDevice } from '../devices/types';

export async function labelPreview(st: Station, shipmentId: string): Promise<string> {
  const png = await st.backend.bytes(`/api/${encodeURIComponent(st.session.tenant)}/labels/${encodeURIComponent(shipmentId)}/png`);
  return URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
}

/** Sends a shipment's label to the station's label printer. */
export async function printLabel(st: Station, shipmentId: string, tracking: string | null): Promise<void> {
  const d = st.deviceSettings;
  const printer = chosenDevice(d, 'printer');
  if (!printer) throw new Error('No label printer is chosen for this station. Choose one under Devices.');
  const format = d.label_format ?? 'zpl';
  const bytes = await st.backend.bytes(`/api/${encodeURIComponent(st.session.tenant)}/labels/${encodeURIComponent(shipmentId)}/${format}`);
  await st.devices.print(printer, { format, bytes, title: `label ${tracking ?? shipmentId}`, dpi: d.dpi ?? 203, darkness: d.darkness ?? null });
}

// The desktop app's real bench: Tauri commands over crates/devices, and the scale's readings
// pushed as Tauri events (never polled).
import type { DeviceSettings } from '../api/types';
import type { DetectedDevice, DeviceScan, Devices, PrintJob, PrinterStatus, ScaleReading, ScannerState } from './types';

interface TauriGlobal {
  core: { invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> };
  event: { listen<T>(name: string, cb: (e: { payload: T }) => void): Promise<() => void> };
}

export function tauri(): TauriGlobal | null {
  const t = (globalThis as unknown as { __TAURI__?: TauriGlobal }).__TAURI__;
  return t && t.core && typeof t.core.invoke === 'function' ? t : null;
}

/** The device settings document as the hub keeps it (the answer's `station_id` is not one). */
function deviceDocument(d: DeviceSettings | undefined): Record<string, unknown> {
  const doc: Record<string, unknown> = { ...(d ?? {}) };
  delete doc.station_id;
  return doc;
}

export class DesktopBench implements Devices {
  readonly kind = 'desktop' as const;
  private session: { tenant: string; token: string } | null = null;
  constructor(private readonly t: TauriGlobal) {}

  atStation(session: { tenant: string; token: string } | null) { this.session = session; }

  list() { return this.t.core.invoke<DetectedDevice[]>('devices_list'); }

  onScale(listener: (r: ScaleReading) => void): () => void {
    let stop: (() => void) | null = null;
    let stopped = false;
    void this.t.event.listen<Omit<ScaleReading, 'at'>>('scale', (e) =>
      listener({ ...e.payload, at: performance.now() })).then((u) => { if (stopped) u(); else stop = u; });
    void this.t.core.invoke<Omit<ScaleReading, 'at'>>('scale_current').then((r) => listener({ ...r, at: performance.now() }));
    return () => { stopped = true; stop?.(); };
  }

  useScale(id: string | null) { return this.t.core.invoke<void>('scale_use', { id }); }
  useScanner(id: string | null) { return this.t.core.invoke<void>('scanner_use', { id }); }

  private scanEvents(on: (e: DeviceScan & { kind: string; problem?: string }) => void): () => void {
    let stop: (() => void) | null = null;
    let stopped = false;
    void this.t.event.listen<DeviceScan & { kind: string; problem?: string }>('scan', (e) => on(e.payload))
      .then((u) => { if (stopped) u(); else stop = u; });
    return () => { stopped = true; stop?.(); };
  }

  onScan(listener: (s: DeviceScan) => void): () => void {
    return this.scanEvents((e) => { if (e.kind === 'scan') listener(e); });
  }

  onScannerState(listener: (s: ScannerState) => void): () => void {
    return this.scanEvents((e) => {
      if (e.kind === 'ready' || e.kind === 'unplugged') listener({ kind: e.kind, problem: e.problem });
    });
  }
  zeroScale() { return this.t.core.invoke<void>('scale_zero'); }

  print(printer: string, job: PrintJob) {
    return this.t.core.invoke<PrinterStatus>('print', {
      tenant: this.session?.tenant ?? '', token: this.session?.token ?? '',
      printer, format: job.format, title: job.title, bytes: Array.from(job.bytes),
      settings: deviceDocument(job.settings),
    });
  }

  printerStatus(printer: string) { return this.t.core.invoke<PrinterStatus>('printer_status', { printer }); }

  /** Puts a load on the shell's simulated scale (`sim:scale`). */
  simulate(value: number) { return this.t.core.invoke<void>('scale_simulate', { value }); }
}

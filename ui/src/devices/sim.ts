// A simulated bench for plain browsers, demos and browser tests: a scale whose load you set
// (it settles after a moment, like a real one) and a printer that keeps each job and can run
// out of labels. The simulated panel on screen drives it.
import type { DetectedDevice, Devices, PrintJob, PrinterState, PrinterStatus, ScaleReading } from './types';
import { PRINTER_WORDS } from './types';
import type { WeightUnit } from '../api/types';

export interface SimJob { title: string; format: PrintJob['format']; size: number; at: Date; url: string | null }

export class SimulatedBench implements Devices {
  readonly kind = 'simulated' as const;
  private listeners = new Set<(r: ScaleReading) => void>();
  private reading: ScaleReading = { state: 'zero', weight: { value: 0, unit: 'lb' }, at: 0 };
  private settle: ReturnType<typeof setTimeout> | null = null;
  private scaleId: string | null = 'sim:scale';
  printer: PrinterState = 'ready';
  readonly jobs: SimJob[] = [];
  private jobListeners = new Set<() => void>();

  async list(): Promise<DetectedDevice[]> {
    return [
      { id: 'sim:scale', kind: 'scale', name: 'Simulated scale (0-150 lb)', transport: 'simulated' },
      { id: 'sim:printer', kind: 'printer', name: 'Simulated label printer (4x6, 203 dpi)', transport: 'simulated' },
    ];
  }

  onScale(listener: (r: ScaleReading) => void): () => void {
    this.listeners.add(listener);
    listener(this.current());
    return () => this.listeners.delete(listener);
  }

  onJobs(listener: () => void): () => void {
    this.jobListeners.add(listener);
    return () => this.jobListeners.delete(listener);
  }

  private current(): ScaleReading {
    return this.scaleId ? this.reading : { state: 'none', weight: null, at: performance.now() };
  }

  private emit(r: Omit<ScaleReading, 'at'>): void {
    this.reading = { ...r, at: performance.now() };
    for (const l of this.listeners) l(this.current());
  }

  /** Puts a load on the scale: it reads as moving, then settles. */
  place(value: number, unit: WeightUnit = 'lb', settleMs = 300): void {
    if (this.settle) clearTimeout(this.settle);
    if (value <= 0) { this.emit({ state: 'zero', weight: { value: 0, unit } }); return; }
    if (value > 150) { this.emit({ state: 'overload', weight: null }); return; }
    this.emit({ state: 'moving', weight: { value: value * 0.93, unit } });
    this.settle = setTimeout(() => this.emit({ state: 'stable', weight: { value, unit } }), settleMs);
  }

  simulate(value: number): void { this.place(value); }

  setState(state: 'asleep' | 'unplugged' | 'under_zero'): void {
    if (this.settle) clearTimeout(this.settle);
    this.emit({ state, weight: null });
  }

  async useScale(id: string | null): Promise<void> {
    this.scaleId = id;
    for (const l of this.listeners) l(this.current());
  }

  async zeroScale(): Promise<void> { this.place(0); }

  async print(_printer: string, job: PrintJob): Promise<PrinterStatus> {
    const status = await this.printerStatus(_printer);
    if (status.state !== 'ready') throw new Error(status.message);
    const type = job.format === 'png' ? 'image/png' : job.format === 'pdf' ? 'application/pdf' : 'text/plain';
    const url = typeof URL.createObjectURL === 'function'
      ? URL.createObjectURL(new Blob([job.bytes as BlobPart], { type })) : null;
    this.jobs.unshift({ title: job.title, format: job.format, size: job.bytes.length, at: new Date(), url });
    for (const l of this.jobListeners) l();
    return status;
  }

  async printerStatus(_printer: string): Promise<PrinterStatus> {
    return { state: this.printer, message: PRINTER_WORDS[this.printer] };
  }
}

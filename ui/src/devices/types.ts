// The bench devices as the station UI sees them. In the desktop app they are real (Tauri
// commands over crates/devices, readings pushed as Tauri events); in a plain browser a
// simulated bench stands in (a scale you can load and a printer that keeps its jobs).
import type { DeviceSettings } from '../api/types';
import type { WeightUnit } from '../api/types';

export type ScaleState =
  | 'stable' | 'moving' | 'zero' | 'under_zero' | 'overload' | 'fault' | 'starting' | 'asleep' | 'unplugged' | 'none';

export interface ScaleReading {
  state: ScaleState;
  /** Present for stable, moving and zero. */
  weight: { value: number; unit: WeightUnit } | null;
  /** performance.now()-comparable time the frame arrived (for the frame → screen benchmark). */
  at: number;
  device?: string;
  /** What is wrong, in words (a fault, why the scale cannot be opened). */
  problem?: string | null;
  /** Epoch ms when the scale's frame was read (desktop): frame → screen latency. */
  frame_at_ms?: number | null;
}

export interface ScannerState { kind: 'ready' | 'unplugged'; problem?: string }

/** A scan from a scanner the shell reads itself (not keyboard typing). */
export interface DeviceScan { data: string; symbology: string | Record<string, string>; aim?: string | null }

export type PrinterState = 'ready' | 'paper_out' | 'head_open' | 'paused' | 'buffer_full' | 'offline' | 'unknown';

export interface PrinterStatus { state: PrinterState; message: string }

export interface DetectedDevice {
  id: string;
  kind: 'scale' | 'printer' | 'scanner';
  name: string;
  /** usb, serial, tcp, spool, simulated */
  transport: string;
  /** Anything in the way: no permission (with the fix), held by another driver. */
  note?: string | null;
}

export interface PrintJob {
  format: 'zpl' | 'png' | 'pdf';
  bytes: Uint8Array;
  /** What it is, for the printer's log: "label 1Z...", "packing slip #1001". */
  title: string;
  /** The station's device settings (as saved, or as being set up on the Devices screen): the
   * desktop shell reads them, typed, to fit the label to the printer (resolution, darkness). */
  settings?: DeviceSettings;
}

export interface Devices {
  readonly kind: 'desktop' | 'simulated';
  list(): Promise<DetectedDevice[]>;
  /** Streams the chosen scale's readings; returns the unsubscribe. */
  onScale(listener: (r: ScaleReading) => void): () => void;
  useScale(id: string | null): Promise<void>;
  zeroScale(): Promise<void>;
  print(printer: string, job: PrintJob): Promise<PrinterStatus>;
  printerStatus(printer: string): Promise<PrinterStatus>;
  /** Desktop: a scanner that is not a keyboard (HID POS, serial mode) sends scans here. */
  useScanner?(id: string | null): Promise<void>;
  onScan?(listener: (s: DeviceScan) => void): () => void;
  /** The chosen scanner's state: ready, or unplugged with the reason. */
  onScannerState?(listener: (s: ScannerState) => void): () => void;
  /** Simulated scales only: put a load on it (demos, training, tests). */
  simulate?(value: number): Promise<void> | void;
  /** Desktop: the session logged in at this station (null: none), which the shell checks
   * with the hub before it prints. */
  atStation?(session: { tenant: string; token: string } | null): void;
}

export const SCALE_WORDS: Record<ScaleState, string> = {
  stable: 'Stable',
  moving: 'Settling…',
  zero: 'Empty (zero)',
  under_zero: 'Below zero: take everything off and zero the scale',
  overload: 'Too heavy for the scale',
  fault: 'The scale reports a problem',
  starting: 'Connecting to the scale…',
  asleep: 'Scale asleep: press its button or put something on it',
  unplugged: 'Scale unplugged: check its USB cable',
  none: 'No scale chosen for this station',
};

export const PRINTER_WORDS: Record<PrinterState, string> = {
  ready: 'Ready',
  paper_out: 'Out of labels: load a new roll',
  head_open: 'Print head open: close the lid',
  paused: 'Printer paused: press its pause button',
  buffer_full: 'Printer busy: wait a moment',
  offline: 'Printer not answering: check its power and cable',
  unknown: 'Printer state unknown',
};

/** A station with nothing chosen uses the simulated scale and printer; `null` means none. */
export function chosenDevice(d: { scale?: string | null; printer?: string | null }, key: 'scale' | 'printer'): string | null {
  const v = d[key];
  return v === undefined ? (key === 'scale' ? 'sim:scale' : 'sim:printer') : v;
}

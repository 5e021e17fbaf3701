// Keyboard-wedge scanners type a code as a burst of keystrokes ending in Enter, far faster than
// a person types. This detector tells the two apart by key timing alone (pure: keys and times
// in, scans out) so the station can take a scan wherever the focus is.

export interface WedgeOptions {
  /** Longest gap between two keys of one scan (scanners: 1-20 ms; people: 80+ ms). */
  maxGapMs: number;
  /** Shortest code accepted as a scan. */
  minLength: number;
}

export const DEFAULT_WEDGE: WedgeOptions = { maxGapMs: 40, minLength: 4 };

export type WedgeAnswer =
  | { kind: 'key' } // an ordinary key: let it through
  | { kind: 'scan'; code: string }; // Enter ending a burst: a scan (swallow the Enter)

export class WedgeDetector {
  private buffer = '';
  private last = -Infinity;

  constructor(private readonly opts: WedgeOptions = DEFAULT_WEDGE) {}

  /** The characters of the burst so far (to take them back out of a text field). */
  get pending(): string { return this.buffer; }

  /** Feeds one keydown (`key` as in KeyboardEvent.key) at time `t` in ms. */
  key(key: string, t: number): WedgeAnswer {
    const gap = t - this.last;
    if (key === 'Enter') {
      const code = this.buffer;
      const burst = code.length >= this.opts.minLength && gap <= this.opts.maxGapMs * 2;
      this.reset();
      return burst ? { kind: 'scan', code } : { kind: 'key' };
    }
    if (key.length !== 1) {
      // Shift and friends come between a scanner's characters; they neither add nor break.
      if (key === 'Shift' || key === 'Control' || key === 'Alt' || key === 'AltGraph') return { kind: 'key' };
      this.reset();
      return { kind: 'key' };
    }
    if (gap > this.opts.maxGapMs) this.buffer = '';
    this.buffer += key;
    this.last = t;
    return { kind: 'key' };
  }

  reset(): void {
    this.buffer = '';
    this.last = -Infinity;
  }
}

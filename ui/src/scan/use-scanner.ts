// Takes keyboard-wedge scans wherever the focus is. A burst typed into some other text field
// (the search box) is taken back out of it; the Enter that ends a scan never clicks a button.
// The pick screen's own scan field (`data-scan-field`) handles its Enter itself.
import { useContext, useEffect, useRef } from 'preact/hooks';
import { StationContext } from '../station';
import { WedgeDetector } from './wedge';
import { markScanStart } from '../lib/feedback';

export function useScanner(onScan: (code: string) => void, enabled = true): void {
  const handler = useRef(onScan);
  handler.current = onScan;
  // Scanners the desktop shell reads itself (HID POS, serial) send their scans here too.
  const devices = useContext(StationContext)?.devices;
  useEffect(() => {
    if (!enabled || !devices?.onScan) return;
    return devices.onScan((s) => { markScanStart(); handler.current(s.data); });
  }, [enabled, devices]);
  useEffect(() => {
    if (!enabled) return;
    const wedge = new WedgeDetector();
    const on = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target?.closest?.('[data-scan-field]')) { wedge.reset(); return; }
      const before = wedge.pending;
      const answer = wedge.key(e.key, e.timeStamp || performance.now());
      if (answer.kind !== 'scan') return;
      markScanStart();
      e.preventDefault();
      e.stopPropagation();
      if (target instanceof HTMLInputElement && target.value.endsWith(before)) {
        target.value = target.value.slice(0, target.value.length - before.length);
        target.dispatchEvent(new Event('input', { bubbles: true }));
      }
      handler.current(answer.code);
    };
    window.addEventListener('keydown', on, true);
    return () => window.removeEventListener('keydown', on, true);
  }, [enabled]);
}

import { describe, expect, it } from 'vitest';
import { WedgeDetector } from './wedge';

/** Feeds `code` then Enter with `gap` ms between keys; returns the detector's last answer. */
function feed(w: WedgeDetector, code: string, gap: number, t0 = 1000) {
  let t = t0;
  for (const ch of code) { w.key(ch, t); t += gap; }
  return w.key('Enter', t);
}

describe('keyboard-wedge detection', () => {
  it('takes a fast burst ending in Enter as a scan', () => {
    expect(feed(new WedgeDetector(), '012345678905', 5)).toEqual({ kind: 'scan', code: '012345678905' });
  });
  it('leaves a person typing alone', () => {
    expect(feed(new WedgeDetector(), '012345678905', 120)).toEqual({ kind: 'key' });
  });
  it('ignores too-short bursts (a fast double key is not a scan)', () => {
    expect(feed(new WedgeDetector(), 'ab', 5)).toEqual({ kind: 'key' });
  });
  it('drops slow keys typed before the burst', () => {
    const w = new WedgeDetector();
    w.key('x', 0);
    w.key('y', 300);
    expect(feed(w, 'PROD-001', 8, 1000)).toEqual({ kind: 'scan', code: 'PROD-001' });
  });
  it('is not broken by Shift between characters (upper case from a scanner)', () => {
    const w = new WedgeDetector();
    let t = 0;
    for (const ch of 'AB-12') { w.key('Shift', t); w.key(ch, t + 1); t += 6; }
    expect(w.key('Enter', t)).toEqual({ kind: 'scan', code: 'AB-12' });
  });
  it('needs the Enter to follow the burst closely', () => {
    const w = new WedgeDetector();
    let t = 0;
    for (const ch of '12345678') { w.key(ch, t); t += 5; }
    expect(w.key('Enter', t + 500)).toEqual({ kind: 'key' });
  });
  it('an arrow key in the middle breaks the burst', () => {
    const w = new WedgeDetector();
    w.key('1', 0); w.key('2', 5); w.key('ArrowDown', 10); w.key('3', 15); w.key('4', 20);
    expect(w.key('Enter', 25)).toEqual({ kind: 'key' });
  });
  it('two scans in a row are two scans', () => {
    const w = new WedgeDetector();
    expect(feed(w, '11112222', 3, 0)).toEqual({ kind: 'scan', code: '11112222' });
    expect(feed(w, '33334444', 3, 200)).toEqual({ kind: 'scan', code: '33334444' });
  });
});

// The answer to a scan: a colour flash over the whole screen and a tone, distinct enough to
// catch from the corner of an eye or across a noisy bench. Timing marks feed the
// scan → feedback benchmark (performance entries `scan`).

let audio: AudioContext | null = null;

function tone(freqs: number[], ms: number, type: OscillatorType): void {
  try {
    audio ??= new AudioContext();
    const ctx = audio;
    let t = ctx.currentTime;
    for (const f of freqs) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = type;
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.2, t);
      gain.gain.exponentialRampToValueAtTime(0.001, t + ms / 1000);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + ms / 1000);
      t += ms / 1000;
    }
  } catch { /* no audio device: the flash still shows */ }
}

export type Verdict = 'right' | 'wrong' | 'done';

/** Flashes the screen and sounds the verdict; marks when the flash is painted. */
export function answerScan(verdict: Verdict): void {
  const el = document.getElementById('flash');
  if (el) {
    el.className = '';
    void el.offsetWidth; // restart the animation
    el.className = `flash-${verdict}`;
    el.setAttribute('data-verdict', verdict);
  }
  // After the next frame is painted (a message posted from rAF runs once the frame is out).
  requestAnimationFrame(() => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      performance.mark('scan:feedback');
      try { performance.measure('scan', 'scan:enter', 'scan:feedback'); } catch { /* no start mark */ }
    };
    ch.port2.postMessage(null);
  });
  if (verdict === 'right') tone([1320], 90, 'sine');
  else if (verdict === 'done') tone([880, 1320, 1760], 80, 'sine');
  else tone([180, 140], 180, 'square');
}

export function markScanStart(): void {
  performance.mark('scan:enter');
}

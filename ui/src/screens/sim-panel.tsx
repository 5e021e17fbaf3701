import { useEffect, useState } from 'preact/hooks';
import type { SimulatedBench } from '../devices/sim';

/** The simulated bench's controls (browser stations, demos, browser tests). */
export function SimPanel({ bench }: { bench: SimulatedBench }) {
  const [open, setOpen] = useState(false);
  const [load, setLoad] = useState('2.4');
  const [, setJobs] = useState(0);
  useEffect(() => bench.onJobs(() => setJobs((n) => n + 1)), []);
  const last = bench.jobs[0];
  return (
    <aside class={`sim-panel ${open ? "open" : ""}`} data-testid="sim-panel" data-count={bench.jobs.length}>
      <button class="ghost" onClick={() => setOpen(!open)} data-testid="sim-toggle">Simulated bench {open ? '▾' : '▴'} <span class="muted">({bench.jobs.length} printed)</span></button>
      {open && <div class="sim-body">
        <div class="row gap"><input type="number" step="0.1" value={load} onInput={(e) => setLoad(e.currentTarget.value)} aria-label="Load in lb" data-testid="sim-load" />
          <button onClick={() => bench.place(Number(load))} data-testid="sim-place">Put on scale</button>
          <button onClick={() => bench.place(0)}>Take off</button></div>
        <div class="row gap"><button onClick={() => bench.setState('asleep')}>Scale sleeps</button><button onClick={() => bench.setState('unplugged')}>Unplug</button></div>
        <label class="check"><input type="checkbox" checked={bench.printer === 'paper_out'} onChange={(e) => { bench.printer = e.currentTarget.checked ? 'paper_out' : 'ready'; setJobs((n) => n + 1); }} /> Printer out of labels</label>
        <div data-testid="sim-jobs" data-count={bench.jobs.length}>Printed: {bench.jobs.length}{last ? ` · last: ${last.title} (${last.format}, ${last.size} bytes)` : ''}</div>
      </div>}
    </aside>
  );
}

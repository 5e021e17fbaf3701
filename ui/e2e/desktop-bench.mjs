// Desktop station benchmarks (BENCHMARKS.md): cold start of the release binary to its first
// interactive screen (the window calls `ui_ready` once the login or first-run form takes input;
// the shell prints the time since it started, and this script also times from spawn), and the
// idle memory of all the app's processes (the app + WebKit's web and network processes) after
// 10 s, as RSS and as PSS (shared pages split between processes, so nothing counts twice).
// Then the scale: with PACKBENCH_SCALE_PROBE=N the shell loads its simulated scale N times and
// the window reports, for each frame, the time from the scale task reading it (the simulated
// scale speaks the same HID reports as a real one) to the reading being painted.
// Run under X: xvfb-run -a node ui/e2e/desktop-bench.mjs [runs]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

const BIN = process.env.PACKBENCH_STATION ?? join(ROOT, 'target/release/packbench-station');
const RUNS = Number(process.argv[2] ?? 5);
if (!process.env.DISPLAY) throw new Error('run under X: xvfb-run -a node ui/e2e/desktop-bench.mjs');

function children(pid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d), ...children(Number(d)));
    } catch { /* gone */ }
  }
  return out;
}

function memory(pid) {
  let rss = 0, pss = 0, anon = 0;
  const names = [];
  for (const p of [pid, ...children(pid)]) {
    try {
      const roll = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      const r = Number(/^Rss:\s+(\d+)/m.exec(roll)?.[1] ?? 0);
      const s = Number(/^Pss:\s+(\d+)/m.exec(roll)?.[1] ?? 0);
      rss += r;
      pss += s;
      anon += Number(/^Anonymous:\s+(\d+)/m.exec(roll)?.[1] ?? 0);
      names.push(`${readFileSync(`/proc/${p}/comm`, 'utf8').trim()} ${(s / 1024).toFixed(0)}/${(r / 1024).toFixed(0)} MB`);
    } catch { /* gone */ }
  }
  return { rss_mb: rss / 1024, pss_mb: pss / 1024, anon_mb: anon / 1024, processes: names };
}

async function once(dataDir, measureMemory) {
  const t0 = performance.now();
  const child = spawn(BIN, [], { env: { ...process.env, XDG_DATA_HOME: dataDir, XDG_CONFIG_HOME: dataDir, PACKBENCH_STARTUP_PROBE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('no ui-ready in 30 s')), 30_000);
    let buf = '';
    child.stdout.on('data', (b) => {
      buf += b;
      const m = /ui-ready (\S+) ([\d.]+) ms/.exec(buf);
      if (m) { clearTimeout(timer); ok({ screen: m[1], shell_ms: Number(m[2]), spawn_ms: performance.now() - t0 }); }
    });
  });
  let mem = null;
  if (measureMemory) { await new Promise((r) => setTimeout(r, 10_000)); mem = memory(child.pid); }
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return { ...ready, mem };
}

const dir = mkdtempSync(join(tmpdir(), 'packbench-desk-'));
await once(dir, false); // first start: makes the database, warms the disk cache
// A warehouse exists from then on, so each start ends on the login screen (as at a bench).
const cli = process.env.PACKBENCH_BIN ?? join(ROOT, 'target/release/packbench');
execFileSync(cli, ['--database', `sqlite://${join(dir, 'com.packbench.station/packbench.sqlite')}`, 'tenant', 'add', 'bench'], { stdio: 'ignore' });
const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await once(dir, i === RUNS - 1));
const spawnMs = runs.map((r) => r.spawn_ms).sort((a, b) => a - b);
const median = spawnMs[Math.floor(spawnMs.length / 2)];
console.log(`binary ${BIN} (${(Number(execFileSync('stat', ['-c', '%s', BIN]).toString()) / 1048576).toFixed(1)} MiB)`);
for (const r of runs) console.log(`  ${r.screen}: spawn → interactive ${r.spawn_ms.toFixed(0)} ms (shell start → ui_ready ${r.shell_ms.toFixed(0)} ms)`);
console.log(`cold start to the ${runs[0].screen} screen: median ${median.toFixed(0)} ms, worst ${spawnMs[spawnMs.length - 1].toFixed(0)} ms over ${RUNS} runs`);

// Scale frame → screen, through the real event path (scale task → Tauri event → paint).
{
  const N = 300;
  const child = spawn(BIN, [], { env: { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, PACKBENCH_SCALE_PROBE: String(N) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('no scale probe report in 60 s')), 60_000);
    let buf = '';
    child.stdout.on('data', (b) => {
      buf += b;
      const m = /probe scale_frame_to_screen_ms .*/.exec(buf);
      if (m) { clearTimeout(timer); ok(m[0]); }
    });
  });
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  console.log(`scale frame → screen (ms, target p99 ≤ 20): ${line.replace('probe scale_frame_to_screen_ms ', '')}`);
}
const m = runs[runs.length - 1].mem;
console.log(`idle memory after 10 s, ${m.processes.length} processes (PSS/RSS: ${m.processes.join(', ')}): RSS ${m.rss_mb.toFixed(0)} MB, PSS ${m.pss_mb.toFixed(0)} MB, of which anonymous (heaps, JS, buffers; the rest is mapped library code) ${m.anon_mb.toFixed(0)} MB`);

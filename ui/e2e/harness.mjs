// Shared by the browser tests and benchmarks: a real hub (`packbench demo`: SQLite, the Shopify
// and UPS sims on loopback, the built UI at /) and Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const OUT = join(ROOT, 'ui/e2e/out');

/** The hub binary: PACKBENCH_BIN, else target/{release,debug}/packbench (whichever is newer). */
export function hubBinary() {
  if (process.env.PACKBENCH_BIN) return process.env.PACKBENCH_BIN;
  for (const p of [join(ROOT, 'target/debug/packbench'), join(ROOT, 'target/release/packbench')]) if (existsSync(p)) return p;
  throw new Error('build the hub first: cargo build -p packbench-server --bin packbench');
}

/** Starts `packbench demo` on a free port; resolves once it listens. */
export async function startDemo({ orders = 40, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'packbench-e2e-'));
  const child = spawn(hubBinary(), ['demo', '--bind', '127.0.0.1:0', '--database', `sqlite://${dir}/hub.sqlite`,
    '--ui', join(ROOT, 'ui/dist'), '--orders', String(orders), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let out = '';
  const info = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the demo hub did not start in 60 s:\n${out}`)), 60_000);
    child.stdout.on('data', (b) => {
      out += b;
      const hub = /Packbench hub on (http:\/\/[\d.:]+)/.exec(out);
      if (hub) {
        clearTimeout(timer);
        ok({
          hub: hub[1],
          ups: /UPS sim on (http:\/\/[\d.:]+)/.exec(out)?.[1],
          shopify: /Shopify sim on (http:\/\/[\d.:]+)/.exec(out)?.[1],
          admin: /admin\s+\/\s+(\S+)/.exec(out)?.[1],
          packer: /packer\s+\/\s+(\S+)/.exec(out)?.[1],
        });
      }
    });
    child.stderr.on('data', (b) => { out += b; });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`the demo hub exited (${code}):\n${out}`)); });
  });
  return { ...info, child, stop: () => child.kill('SIGTERM') };
}

export async function launchBrowser() {
  const exe = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
  if (!exe) throw new Error('Debian chromium is missing: apt-get install chromium');
  mkdirSync(OUT, { recursive: true });
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'pw-')), {
    executablePath: exe, headless: true, viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
}

/** The hub's REST API from the test's side (to look things up, never to do the packer's work). */
export async function api(hub, tenant, user, password) {
  const login = await fetch(`${hub}/api/${tenant}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password }) });
  if (!login.ok) throw new Error(`api login: ${login.status}`);
  const token = (await login.json()).data.token;
  return async (method, path, body) => {
    const r = await fetch(`${hub}/api/${tenant}/${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const j = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
    return j.data;
  };
}

export function check(ok, what) {
  if (!ok) throw new Error(`FAILED: ${what}`);
  console.log(`  ok  ${what}`);
}

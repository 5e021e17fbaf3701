import { useState } from 'preact/hooks';
import type { Env } from '../boot';
import { tauri } from '../devices/tauri';
import { explain } from '../api/errors';

/** The desktop app's first start: make this warehouse, or open the demo on the simulators. */
export function FirstRun({ env, onDone }: { env: Env; onDone: (tenant: string) => void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [demo, setDemo] = useState<{ tenant: string; logins: [string, string][] } | null>(null);
  const t = tauri();

  const create = async (e: Event) => {
    e.preventDefault();
    if (!t) return;
    setBusy(true); setError(null);
    try {
      const tenant = await t.core.invoke<string>('create_tenant', { name, slug: slug || name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''), username, password });
      onDone(tenant);
    } catch (err) { setError(typeof err === 'string' ? err : explain(err).headline); } finally { setBusy(false); }
  };
  const openDemo = async () => {
    if (!t) return;
    setBusy(true); setError(null);
    try { setDemo(await t.core.invoke<{ tenant: string; logins: [string, string][] }>('open_demo')); } catch (err) { setError(String(err)); } finally { setBusy(false); }
  };

  if (demo) {
    return <main class="center"><div class="card login" data-testid="demo-ready"><h1>Demo ready</h1>
      <p>A demo warehouse runs on simulated Shopify and UPS (SAMPLE labels, nothing is charged). Log in with:</p>
      <ul>{demo.logins.map(([u, p]) => <li><code>{u}</code> / <code data-testid={`demo-password-${u}`}>{p}</code></li>)}</ul>
      <button class="primary big" onClick={() => onDone(demo.tenant)} data-testid="demo-continue">Continue to log in</button></div></main>;
  }
  return (
    <main class="center">
      <form class="card login" onSubmit={create} data-testid="first-run">
        <h1>Welcome to Packbench</h1>
        <p class="muted">This station keeps its own data on this computer ({env.shell?.mode}). Set up your warehouse, or try the demo first.</p>
        <label>Warehouse name<input name="warehouse" value={name} onInput={(e) => setName(e.currentTarget.value)} required placeholder="Acme East" /></label>
        <label>Short name (for logins)<input name="slug" value={slug} onInput={(e) => setSlug(e.currentTarget.value)} placeholder="acme-east" pattern="[a-z0-9][a-z0-9-]{1,30}" /></label>
        <label>Admin username<input name="admin-username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required /></label>
        <label>Admin password (at least 10 characters)<input name="admin-password" type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} minLength={10} required /></label>
        {error && <div class="alert error" role="alert">{error}</div>}
        <button class="primary big" type="submit" disabled={busy} data-testid="create-warehouse">Create warehouse</button>
        <button type="button" class="big" onClick={openDemo} disabled={busy} data-testid="open-demo">Open the demo</button>
      </form>
    </main>
  );
}

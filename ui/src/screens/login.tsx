import { useState } from 'preact/hooks';
import { HttpBackend } from '../api/http';
import { explain } from '../api/errors';
import type { Capabilities, DeviceSettings, Session } from '../api/types';
import type { Env } from '../boot';

const STATIONS_KEY = 'packbench.stations';

function knownStations(): string[] {
  try {
    const s = JSON.parse(localStorage.getItem(STATIONS_KEY) ?? '[]') as unknown;
    return Array.isArray(s) && s.length > 0 ? s.filter((x): x is string => typeof x === 'string') : ['BENCH-1'];
  } catch { return ['BENCH-1']; }
}

export function Login({ env, tenant: initialTenant, onLogin, theme, toggleTheme }: {
  env: Env;
  tenant: string;
  onLogin: (l: { backend: HttpBackend; session: Session; caps: Capabilities; device: DeviceSettings }) => void;
  theme: string;
  toggleTheme: () => void;
}) {
  const stations = knownStations();
  const [tenant, setTenant] = useState(initialTenant);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [station, setStation] = useState(localStorage.getItem('packbench.station') ?? stations[0] ?? 'BENCH-1');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ headline: string; detail: string | null } | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const b = new HttpBackend(env.hub, tenant.trim());
    try {
      const st = station.trim().toUpperCase();
      const session = await b.login(username.trim(), password, st || undefined);
      const caps = await b.capabilities();
      const device = await b.deviceSettings(st).catch(() => ({ station_id: st }));
      localStorage.setItem('packbench.station', st);
      localStorage.setItem(STATIONS_KEY, JSON.stringify([st, ...stations.filter((x) => x !== st)].slice(0, 12)));
      onLogin({ backend: b, session, caps, device });
    } catch (err) {
      const x = explain(err);
      setError(x.code === 'unauthorized'
        ? { headline: 'Wrong username or password.', detail: 'Check them and try again. Caps Lock?' }
        : x.code === 'not_found' ? { headline: `No warehouse called "${tenant}" on this hub.`, detail: 'Check the warehouse name.' } : x);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="center">
      <form class="card login" onSubmit={submit} data-testid="login">
        <div class="row between"><h1>Packbench</h1>
          <button type="button" class="ghost" onClick={toggleTheme} title="Dark or light">{theme === 'dark' ? '☀' : '☾'}</button></div>
        <p class="muted">Log in to start packing.</p>
        <label>Warehouse<input name="tenant" value={tenant} onInput={(e) => setTenant(e.currentTarget.value)} autocomplete="organization" required /></label>
        <label>Username<input name="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} autofocus autocomplete="username" required /></label>
        <label>Password<input name="password" type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} autocomplete="current-password" required /></label>
        <label>Station
          <input name="station" list="stations" value={station} onInput={(e) => setStation(e.currentTarget.value)} placeholder="BENCH-1" />
          <datalist id="stations">{stations.map((s) => <option value={s} />)}</datalist>
        </label>
        {error && <div class="alert error" role="alert" data-testid="login-error"><strong>{error.headline}</strong>{error.detail && <div>{error.detail}</div>}</div>}
        <button class="primary big" type="submit" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
        {env.shell && <p class="muted small">Hub: {env.hub || 'this page'} · {env.shell.mode} · v{env.shell.version}</p>}
      </form>
    </main>
  );
}

import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { HttpBackend } from './api/http';
import { explain } from './api/errors';
import type { Capabilities, DeviceSettings, LiveEvent, Session } from './api/types';
import type { Env } from './boot';
import { StationContext, type Station } from './station';
import { chosenDevice, type ScannerState } from './devices/types';
import { Login } from './screens/login';
import { FirstRun } from './screens/first-run';
import { QueueScreen } from './screens/queue';
import { OrderScreen } from './screens/order';
import { BatchesScreen } from './screens/batches';
import { ShipmentsScreen } from './screens/shipments';
import { EndOfDayScreen } from './screens/end-of-day';
import { SettingsScreen } from './screens/settings';
import { DevicesScreen } from './screens/devices';
import { StockScreen } from './screens/stock';
import { SimPanel } from './screens/sim-panel';
import { SimulatedBench } from './devices/sim';
import { tauri } from './devices/tauri';

interface Toast { id: number; kind: 'error' | 'info'; headline: string; detail: string | null }

function useRoute(): [string, (r: string) => void] {
  const read = () => location.hash.replace(/^#/, '') || '/queue';
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return [route, (r: string) => { location.hash = r; }];
}

function useTheme(): [string, () => void] {
  const initial = localStorage.getItem('packbench.theme') ??
    (matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark');
  const [theme, setTheme] = useState(initial);
  useEffect(() => { document.documentElement.dataset['theme'] = theme; localStorage.setItem('packbench.theme', theme); }, [theme]);
  return [theme, () => setTheme((t) => (t === 'dark' ? 'light' : 'dark'))];
}

interface LoggedIn { backend: HttpBackend; session: Session; caps: Capabilities; device: DeviceSettings }

export function App({ env }: { env: Env }) {
  const [theme, toggleTheme] = useTheme();
  const [logged, setLogged] = useState<LoggedIn | null>(null);
  const [firstRun, setFirstRun] = useState(env.shell?.first_run ?? false);
  const [tenant, setTenant] = useState(env.tenant);

  // Resume a session kept for this tab (a reload must not log the packer out).
  useEffect(() => {
    const saved = sessionStorage.getItem('packbench.session');
    if (!saved) return;
    const { tenant: t, token } = JSON.parse(saved) as { tenant: string; token: string };
    const b = new HttpBackend(env.hub, t, token);
    void (async () => {
      try {
        const me = await b.me();
        const caps = await b.capabilities();
        const station = me.station_id ?? 'BENCH-1';
        const device = await b.deviceSettings(station).catch(() => ({ station_id: station }));
        setLogged({ backend: b, session: { token, expires_at: '', user: me.user, station_id: station, tenant: t }, caps, device });
      } catch { sessionStorage.removeItem('packbench.session'); }
    })();
  }, []);

  // The desktop shell prints only for a station logged in to the hub: it is told who is.
  useEffect(() => {
    env.devices.atStation?.(logged ? { tenant: logged.session.tenant, token: logged.session.token } : null);
  }, [logged, env.devices]);

  const onLogin = (l: LoggedIn) => {
    localStorage.setItem('packbench.tenant', l.session.tenant);
    sessionStorage.setItem('packbench.session', JSON.stringify({ tenant: l.session.tenant, token: l.session.token }));
    setLogged(l);
  };

  // Benchmark mode (desktop): every scale frame's time from being read by the shell's scale
  // task to being painted here, reported once enough came.
  useEffect(() => {
    const want = env.shell?.scale_probe;
    if (!want) return;
    const lags: number[] = [];
    return env.devices.onScale((r) => {
      if (!r.frame_at_ms) return;
      const at = r.frame_at_ms;
      requestAnimationFrame(() => {
        lags.push(Date.now() - at);
        if (lags.length === want) void tauri()?.core.invoke('probe_report', { name: 'scale_frame_to_screen_ms', values: lags });
      });
    });
  }, []);

  // Tell the desktop shell the first screen takes input (its cold-start benchmark).
  useEffect(() => {
    if (!logged) requestAnimationFrame(() => void tauri()?.core.invoke('ui_ready', { screen: firstRun && env.shell ? 'first-run' : 'login' }));
  }, []);

  if (env.shell?.error) {
    return <main class="center"><div class="card"><h1>The station could not start</h1><p class="error-text">{env.shell.error}</p></div></main>;
  }
  if (!logged && firstRun && env.shell) {
    return <FirstRun env={env} onDone={(t) => { setTenant(t); setFirstRun(false); }} />;
  }
  if (!logged) {
    return <Login env={env} tenant={tenant} onLogin={onLogin} theme={theme} toggleTheme={toggleTheme} />;
  }
  return <Shell env={env} logged={logged} theme={theme} toggleTheme={toggleTheme}
    onLogout={() => { sessionStorage.removeItem('packbench.session'); setLogged(null); }}
    setDevice={(d) => setLogged({ ...logged, device: d })} />;
}

const NAV: { route: string; label: string; key: string; permission?: string }[] = [
  { route: '/queue', label: 'Orders', key: '1' },
  { route: '/batches', label: 'Batches', key: '2', permission: 'batches.run' },
  { route: '/shipments', label: 'Shipments', key: '3', permission: 'shipments.read' },
  { route: '/stock', label: 'Stock', key: '4', permission: 'inventory.read' },
  { route: '/devices', label: 'Devices', key: '5' },
  { route: '/settings', label: 'Settings', key: '6', permission: 'settings.write' },
  { route: '/end-of-day', label: 'End of day', key: '7', permission: 'shipments.read' },
];

function Shell({ env, logged, theme, toggleTheme, onLogout, setDevice }: {
  env: Env; logged: LoggedIn; theme: string; toggleTheme: () => void; onLogout: () => void; setDevice: (d: DeviceSettings) => void;
}) {
  const [route, go] = useRoute();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [live, setLive] = useState(false);
  const [scanner, setScanner] = useState<ScannerState | null>(null);
  useEffect(() => env.devices.onScannerState?.(setScanner), [env.devices]);
  const listeners = useRef(new Set<(e: LiveEvent) => void>());
  const nextId = useRef(1);

  const push = useCallback((t: Omit<Toast, 'id'>) => {
    const id = nextId.current++;
    setToasts((ts) => [...ts.slice(-3), { ...t, id }]);
    setTimeout(() => setToasts((ts) => ts.filter((x) => x.id !== id)), t.kind === 'error' ? 12000 : 5000);
  }, []);

  const station: Station = useMemo(() => ({
    backend: logged.backend,
    devices: env.devices,
    session: logged.session,
    caps: logged.caps,
    deviceSettings: logged.device,
    setDeviceSettings: setDevice,
    can: (p: string) => logged.caps.permissions.includes(p),
    fail: (e: unknown) => {
      const x = explain(e);
      if (x.code === 'unauthorized') onLogout();
      push({ kind: 'error', headline: x.headline, detail: x.detail });
    },
    notify: (text: string) => push({ kind: 'info', headline: text, detail: null }),
    onLive: (l) => { listeners.current.add(l); return () => listeners.current.delete(l); },
    go,
  }), [logged, env.devices]);

  // The station's devices as its settings say (a station without settings: the simulated scale).
  useEffect(() => {
    const d = logged.device;
    void env.devices.useScale(chosenDevice(d, 'scale')).catch(() => {});
    void env.devices.useScanner?.(d.scanner ?? null).catch((e: unknown) => station.fail(e));
  }, [logged.device.scale, logged.device.scanner]);

  useEffect(() => {
    const ac = new AbortController();
    logged.backend.events((e) => {
      if (e.type === 'tracking_exception') push({ kind: 'error', headline: 'UPS reported a problem with a parcel', detail: e.description });
      if (e.type === 'shop_cancelled_shipped') push({ kind: 'error', headline: `Order ${e.name} was cancelled in Shopify after it shipped`, detail: 'Intercept the parcel with UPS if you still can.' });
      for (const l of listeners.current) l(e);
    }, ac.signal, setLive);
    return () => ac.abort();
  }, [logged.backend]);

  // Alt+1..7 move between screens from anywhere.
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (!e.altKey) return;
      const n = NAV.find((x) => x.key === e.key && (!x.permission || station.can(x.permission)));
      if (n) { e.preventDefault(); go(n.route); }
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  }, [station]);

  const [path, arg] = splitRoute(route);
  let screen;
  switch (path) {
    case '/orders': screen = arg ? <OrderScreen key={arg} id={arg} /> : <QueueScreen />; break;
    case '/batches': screen = <BatchesScreen />; break;
    case '/shipments': screen = <ShipmentsScreen id={arg} />; break;
    case '/end-of-day': screen = <EndOfDayScreen />; break;
    case '/settings': screen = <SettingsScreen />; break;
    case '/devices': screen = <DevicesScreen />; break;
    case '/stock': screen = <StockScreen />; break;
    default: screen = <QueueScreen />;
  }

  const logout = async () => {
    try { await logged.backend.logout(); } catch { /* the session ends here anyway */ }
    onLogout();
  };

  return (
    <StationContext.Provider value={station}>
      <div id="flash" />
      <header class="topbar">
        <strong class="brand">Packbench</strong>
        <nav>
          {NAV.filter((n) => !n.permission || station.can(n.permission)).map((n) => (
            <a href={`#${n.route}`} class={path === n.route || (n.route === '/queue' && path === '/orders') ? 'active' : ''}
              title={`Alt+${n.key}`} data-nav={n.label.toLowerCase()}>{n.label}</a>
          ))}
        </nav>
        <span class="spacer" />
        <span class={`live ${live ? 'on' : 'off'}`} title={live ? 'Live updates on' : 'Reconnecting to the hub…'} data-testid="live">{live ? '● live' : '○ offline'}</span>
        {scanner?.kind === 'unplugged' && logged.device.scanner && <span class="live off" title={scanner.problem} data-testid="scanner-problem">⚠ scanner: {scanner.problem}</span>}
        <span class="who" data-testid="who">{logged.session.user.username} · {logged.session.station_id ?? 'no station'} · {logged.session.tenant}</span>
        <button class="ghost" onClick={toggleTheme} title="Dark or light">{theme === 'dark' ? '☀' : '☾'}</button>
        <button class="ghost" onClick={logout}>Log out</button>
      </header>
      <main class="content">{screen}</main>
      {env.devices instanceof SimulatedBench && <SimPanel bench={env.devices} />}
      <div class="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} class={`toast ${t.kind}`} data-testid={`toast-${t.kind}`}>
            <strong>{t.headline}</strong>{t.detail && <div>{t.detail}</div>}
          </div>
        ))}
      </div>
    </StationContext.Provider>
  );
}

function splitRoute(route: string): [string, string | undefined] {
  const parts = route.split('/').filter(Boolean);
  const head = parts[0] ?? 'queue';
  const path = head === 'queue' ? '/orders' : `/${head}`;
  return [path, parts[1] ? decodeURIComponent(parts[1]) : undefined];
}

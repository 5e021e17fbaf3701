// Where the station finds its hub and its devices. In the desktop app the shell says (its
// in-process hub, or the hub it is connected to) and the devices are real; in a browser the
// hub is the page's own origin and the bench is simulated.
import { DesktopBench, tauri } from './devices/tauri';
import { SimulatedBench } from './devices/sim';
import type { Devices } from './devices/types';

export interface ShellInfo {
  mode: 'standalone' | 'connected';
  hub_url: string | null;
  first_run: boolean;
  version: string;
  error: string | null;
  /** Benchmark mode: measure this many scale frames to the screen, then report. */
  scale_probe?: number | null;
}

export interface Env {
  /** The hub's origin ('' = this page's origin). */
  hub: string;
  devices: Devices;
  shell: ShellInfo | null;
  /** The tenant to log in to: ?tenant=, the last one used, or "demo". */
  tenant: string;
}

export async function boot(): Promise<Env> {
  const params = new URLSearchParams(location.search);
  const tenant = params.get('tenant') ?? localStorage.getItem('packbench.tenant') ?? 'demo';
  const t = tauri();
  if (!t) return { hub: '', devices: new SimulatedBench(), shell: null, tenant };
  // The shell starts its hub on the side; wait for its address.
  let info = await t.core.invoke<ShellInfo>('shell_info');
  for (let i = 0; i < 300 && !info.hub_url && !info.error; i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await t.core.invoke<ShellInfo>('shell_info');
  }
  return { hub: info.hub_url ?? '', devices: new DesktopBench(t), shell: info, tenant };
}

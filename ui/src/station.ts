// Everything a screen needs about the station it runs on: the hub, the bench devices, who is
// logged in and what they may do, and a bus for the hub's live events.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Backend } from './api/backend';
import type { Capabilities, DeviceSettings, LiveEvent, Session } from './api/types';
import type { Devices } from './devices/types';

export interface Station {
  backend: Backend;
  devices: Devices;
  session: Session;
  caps: Capabilities;
  deviceSettings: DeviceSettings;
  setDeviceSettings(d: DeviceSettings): void;
  can(permission: string): boolean;
  /** Shows an error in words a packer understands (see api/errors.ts). */
  fail(e: unknown): void;
  notify(text: string): void;
  onLive(listener: (e: LiveEvent) => void): () => void;
  go(route: string): void;
}

export const StationContext = createContext<Station | null>(null);

export function useStation(): Station {
  const s = useContext(StationContext);
  if (!s) throw new Error('useStation outside a logged-in station');
  return s;
}

import { useEffect, useState } from 'preact/hooks';
import type { PrivacyRequest, Settings } from '../api/types';
import { ago } from '../lib/format';
import { useStation } from '../station';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));

/** A text field bound to a path of the settings document. */
function Field({ label, value, onChange, type = 'text', placeholder, testid }: {
  label: string; value: string; onChange: (v: string) => void; type?: 'text' | 'password'; placeholder?: string; testid?: string;
}) {
  const input = (e: { currentTarget: HTMLInputElement }) => onChange(e.currentTarget.value);
  return <label>{label}{type === 'password'
    ? <input type="password" value={value} placeholder={placeholder} onInput={input} data-testid={testid} autocomplete="new-password" />
    : <input type="text" value={value} placeholder={placeholder} onInput={input} data-testid={testid} autocomplete="off" />}</label>;
}

const PRIVACY_KIND: Record<PrivacyRequest['kind'], string> = {
  customer_data_request: 'Customer asks for their data',
  customer_redact: 'Erase a customer',
  shop_redact: 'Erase the shop’s customers',
};

/** The shop's privacy requests: what each asked and where it stands. A data request's answer is
 * downloaded for the merchant to pass on; a redaction names the orders it still waits for. */
function PrivacyRequests() {
  const st = useStation();
  const [list, setList] = useState<PrivacyRequest[] | null>(null);
  useEffect(() => { st.backend.privacyRequests().then(setList, st.fail); }, []);
  const download = (r: PrivacyRequest) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([JSON.stringify(r.result, null, 2)], { type: 'application/json' }));
    a.download = `data-request-${r.customer_id ?? r.id}.json`;
    a.click();
  };
  return (
    <section class="card" data-testid="privacy-requests">
      <h2>Privacy requests from the shop</h2>
      {list === null ? <p class="muted">Loading…</p> : list.length === 0 ? <p class="muted">None so far.</p> : (
        <table class="lines">
          <thead><tr><th>Received</th><th>Request</th><th>Customer</th><th>Where it stands</th><th /></tr></thead>
          <tbody>{list.map((r) => (
            <tr key={r.id} data-testid="privacy-request" data-kind={r.kind}>
              <td>{ago(r.received_at)}</td>
              <td>{PRIVACY_KIND[r.kind]}</td>
              <td>{r.customer_id ?? '—'}</td>
              <td data-testid="privacy-state">{r.kind === 'customer_data_request'
                ? `${r.result?.orders?.length ?? 0} order(s) found`
                : r.completed_at
                  ? `Erased from ${r.result?.erased?.length ?? 0} order(s)`
                  : `Erased from ${r.result?.erased?.length ?? 0}; waiting for ${(r.result?.waiting ?? []).join(', ')} to be delivered or cancelled`}</td>
              <td>{r.kind === 'customer_data_request' && r.result && <button type="button" onClick={() => download(r)}>Download</button>}</td>
            </tr>))}
          </tbody>
        </table>)}
    </section>
  );
}

/** Admin: the tenant's business settings. Secrets are write-only: blank keeps the stored one. */
export function SettingsScreen() {
  const st = useStation();
  const [s, setS] = useState<Settings | null>(null);
  const [patch, setPatch] = useState<Obj>({});
  const [saving, setSaving] = useState(false);
  useEffect(() => { st.backend.settings().then(setS, st.fail); }, []);
  if (!s) return <p class="muted">Loading settings…</p>;

  const get = (section: string, key: string): unknown => {
    const p = obj(patch[section]);
    return key in p ? p[key] : obj(s[section])[key];
  };
  const set = (section: string, key: string, v: unknown) => setPatch((p) => ({ ...p, [section]: { ...obj(p[section]), [key]: v } }));
  const shipper = obj(get('shipper', 'address') ?? obj(s['shipper'])['address']);
  const setAddr = (k: string, v: unknown) => set('shipper', 'address', { ...shipper, [k]: v });
  const secret = (section: string, key: string, label: string) => {
    const isSet = obj(s[section])[`${key}_set`] === true;
    return <Field label={`${label} ${isSet ? '(saved; type to replace)' : '(not set)'}`} type="password" value={str(obj(patch[section])[key])}
      onChange={(v) => set(section, key, v || undefined)} placeholder={isSet ? '••••••••' : ''} />;
  };
  const top = (key: string): unknown => (key in patch ? patch[key] : s[key]);

  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    try { const saved = await st.backend.patchSettings(JSON.parse(JSON.stringify(patch)) as Settings); setS(saved); setPatch({}); st.notify('Settings saved'); } catch (err) { st.fail(err); } finally { setSaving(false); }
  };
  const units = obj(top('units'));

  return (
    <>
    <form class="settings" onSubmit={save} data-testid="settings">
      <div class="row between"><h1>Settings</h1><button class="primary big" type="submit" disabled={saving || Object.keys(patch).length === 0} data-testid="save-settings">{saving ? 'Saving…' : 'Save'}</button></div>
      <div class="grid2">
        <fieldset class="card"><legend>Shopify</legend>
          <Field label="Shop domain" value={str(get('shopify', 'shop_domain'))} onChange={(v) => set('shopify', 'shop_domain', v)} placeholder="acme.myshopify.com" testid="shop-domain" />
          {secret('shopify', 'access_token', 'Admin API access token')}
          <Field label="Client ID (Dev Dashboard app)" value={str(get('shopify', 'client_id'))} onChange={(v) => set('shopify', 'client_id', v || null)} />
          {secret('shopify', 'client_secret', 'Client secret')}
          {secret('shopify', 'api_secret', 'Webhook secret')}
          <Field label="Locations this warehouse ships from (ids, comma-separated)" value={((get('shopify', 'location_ids') as string[] | undefined) ?? []).join(', ')}
            onChange={(v) => set('shopify', 'location_ids', v.split(',').map((x) => x.trim()).filter(Boolean))} />
          <label class="check"><input type="checkbox" checked={get('shopify', 'notify_customer') === true} onChange={(e) => set('shopify', 'notify_customer', e.currentTarget.checked)} /> Email the customer when it ships</label>
        </fieldset>
        <fieldset class="card"><legend>UPS</legend>
          <Field label="Client ID" value={str(get('ups', 'client_id'))} onChange={(v) => set('ups', 'client_id', v || null)} />
          {secret('ups', 'client_secret', 'Client secret')}
          <Field label="Account number" value={str(get('ups', 'account_number'))} onChange={(v) => set('ups', 'account_number', v || null)} />
          <label>Environment<select value={str(get('ups', 'environment')) || 'cie'} onChange={(e) => set('ups', 'environment', e.currentTarget.value)}>
            <option value="cie">Test (CIE): SAMPLE labels, no charge</option><option value="production">Production: real labels, billed</option></select></label>
        </fieldset>
        <fieldset class="card"><legend>Ship from</legend>
          <Field label="Company" value={str(get('shipper', 'name'))} onChange={(v) => set('shipper', 'name', v)} />
          <Field label="Attention" value={str(get('shipper', 'attention'))} onChange={(v) => set('shipper', 'attention', v)} />
          <Field label="Phone" value={str(get('shipper', 'phone'))} onChange={(v) => set('shipper', 'phone', v)} />
          <Field label="Street" value={((shipper['lines'] as string[] | undefined) ?? []).join(', ')} onChange={(v) => setAddr('lines', v.split(',').map((x) => x.trim()).filter(Boolean))} />
          <div class="row gap"><Field label="City" value={str(shipper['city'])} onChange={(v) => setAddr('city', v)} />
            <Field label="State" value={str(shipper['state'])} onChange={(v) => setAddr('state', v)} />
            <Field label="ZIP" value={str(shipper['postal_code'])} onChange={(v) => setAddr('postal_code', v)} />
            <Field label="Country" value={str(shipper['country'])} onChange={(v) => setAddr('country', v)} /></div>
        </fieldset>
        <fieldset class="card"><legend>Warehouse</legend>
          <Field label="Default stock location" value={str(top('default_location'))} onChange={(v) => setPatch((p) => ({ ...p, default_location: v }))} />
          <label class="check"><input type="checkbox" checked={top('auto_fulfill') === true} onChange={(e) => setPatch((p) => ({ ...p, auto_fulfill: e.currentTarget.checked }))} data-testid="auto-fulfill" /> Send tracking to Shopify as soon as a label is bought</label>
          <div class="row gap">
            <label>Weight unit<select value={str(units['weight']) || 'lb'} onChange={(e) => setPatch((p) => ({ ...p, units: { ...units, weight: e.currentTarget.value } }))}>{['lb', 'oz', 'kg', 'g'].map((u) => <option>{u}</option>)}</select></label>
            <label>Size unit<select value={str(units['dimension']) || 'in'} onChange={(e) => setPatch((p) => ({ ...p, units: { ...units, dimension: e.currentTarget.value } }))}>{['in', 'cm'].map((u) => <option>{u}</option>)}</select></label>
          </div>
        </fieldset>
        <fieldset class="card" data-testid="weight-check"><legend>Weighing boxes</legend>
          <label class="check"><input type="checkbox" checked={get('weight_check', 'enabled') !== false} onChange={(e) => set('weight_check', 'enabled', e.currentTarget.checked)} /> Hold a box whose weight is off what its items and box should weigh</label>
          <div class="row gap">
            <label>Allowed off by<input class="qty" type="number" min={0} step="0.01" value={String(obj(get('weight_check', 'tolerance'))['value'] ?? '')}
              onInput={(e) => set('weight_check', 'tolerance', { ...obj(get('weight_check', 'tolerance')), value: Number(e.currentTarget.value) })} data-testid="tolerance" /></label>
            <label>Unit<select value={str(obj(get('weight_check', 'tolerance'))['unit']) || 'lb'} onChange={(e) => set('weight_check', 'tolerance', { ...obj(get('weight_check', 'tolerance')), unit: e.currentTarget.value })}>{['lb', 'oz', 'kg', 'g'].map((u) => <option>{u}</option>)}</select></label>
            <label>or percent<input class="qty" type="number" min={0} max={50} step="0.5" value={String(get('weight_check', 'tolerance_percent') ?? '')}
              onInput={(e) => set('weight_check', 'tolerance_percent', Number(e.currentTarget.value))} data-testid="tolerance-percent" /></label>
          </div>
          <p class="muted small">Whichever allows more: a fixed amount matters on a light parcel, a percent on a heavy one.</p>
          <Field label="Operators who may pack a held box anyway, with a reason (usernames, comma-separated; admins always may)" value={((get('weight_check', 'may_override') as string[] | undefined) ?? []).join(', ')}
            onChange={(v) => set('weight_check', 'may_override', v.split(',').map((x) => x.trim()).filter(Boolean))} testid="may-override" />
        </fieldset>
      </div>
    </form>
    <PrivacyRequests />
    </>
  );
}

import { describe, expect, it } from 'vitest';
import { ApiError, OfflineError, explain } from './errors';

describe('errors in words a packer understands', () => {
  it('leads with a plain headline and keeps the hub\'s message', () => {
    const x = explain(new ApiError(422, 'carrier_rejected', 'UPS refused: invalid postal code', { carrier_code: '120802' }));
    expect(x.headline).toBe('UPS refused the label.');
    expect(x.detail).toContain('invalid postal code');
    expect(x.detail).toContain('UPS code 120802');
  });
  it('says what to do when UPS is not set up', () => {
    expect(explain(new ApiError(503, 'carrier_not_configured', 'x')).headline).toMatch(/admin/);
  });
  it('an unreachable hub changed nothing', () => {
    expect(explain(new OfflineError()).detail).toMatch(/Nothing was changed/);
  });
  it('an unknown code still says something', () => {
    expect(explain(new ApiError(418, 'teapot', 'short and stout')).headline).toMatch(/418/);
  });
});

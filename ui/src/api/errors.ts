// Errors from the hub, and what a packer should read about them. The hub's envelope is
// `{"error": {"code", "message", "details"?}}`; its messages already say what to fix, so the
// station leads with a plain headline per code and keeps the hub's message underneath.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The hub could not be reached at all. */
export class OfflineError extends Error {
  constructor(override readonly cause?: unknown) {
    super('the hub did not answer');
    this.name = 'OfflineError';
  }
}

const HEADLINES: Record<string, string> = {
  bad_request: 'That request was not understood.',
  validation_failed: 'Something entered needs fixing.',
  unauthorized: 'Please log in again.',
  forbidden: 'Your login is not allowed to do that. Ask an admin.',
  not_found: 'Not found.',
  invalid_transition: 'That step does not fit where the order is now.',
  pick_rejected: 'Wrong item for this order.',
  weight_mismatch: 'The box weighs wrong. Check its contents.',
  label_in_progress: 'A label is being bought for this order right now. Wait a few seconds.',
  label_not_recorded: 'UPS sold the label but the hub could not record it. Ship again: the same label is used.',
  conflict: 'Someone else changed this order. It has been reloaded.',
  idempotency_key_reused: 'That action was already sent with different details.',
  request_in_progress: 'That action is still being processed. Wait a moment.',
  request_interrupted: 'The hub stopped while doing that. Check the order before trying again.',
  payload_too_large: 'Too much at once. Send less.',
  too_many_attempts: 'Too many failed logins from this computer. Wait as below, or ask an admin.',
  carrier_not_configured: 'UPS is not set up yet. An admin must enter the UPS credentials in Settings.',
  shop_not_configured: 'Shopify is not connected yet. An admin must connect it in Settings.',
  carrier_rejected: 'UPS refused the label.',
  carrier_unavailable: 'UPS is not answering right now. Try again in a minute.',
  shop_unavailable: 'Shopify is not answering right now. Try again in a minute.',
  internal: 'Something went wrong on the hub. Try again; tell an admin if it keeps happening.',
};

export interface Explained { headline: string; detail: string | null; code: string }

/** What to show a packer for any error thrown by a backend call. */
export function explain(e: unknown): Explained {
  if (e instanceof ApiError) {
    const headline = HEADLINES[e.code] ?? `The hub refused (${e.status}).`;
    const carrierCode = e.details && typeof e.details['carrier_code'] === 'string' ? ` (UPS code ${e.details['carrier_code']})` : '';
    const field = e.details && typeof e.details['field'] === 'string' ? `${e.details['field']}: ` : '';
    const detail = e.message && e.message !== headline ? `${field}${e.message}${carrierCode}` : null;
    return { headline, detail, code: e.code };
  }
  if (e instanceof OfflineError) {
    return {
      headline: 'The hub is not answering.',
      detail: 'Check the network cable or Wi-Fi, or that the hub is running. Nothing was changed.',
      code: 'offline',
    };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return { headline: 'Something went wrong.', detail: msg, code: 'unknown' };
}

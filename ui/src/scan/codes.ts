// Product codes as scanned, normalised the way the hub does (crates/core: Gtin): UPC-A, EAN-8,
// EAN-13 and GTIN-14 become one 14-digit GTIN; a GS1-128 label's (01) GTIN is taken out.
// The station uses this to answer a scan at once, before the hub confirms it.

/** GS1 check digit over all but the last digit. */
function checkDigitOk(digits: string): boolean {
  let sum = 0;
  const body = digits.slice(0, -1);
  for (let i = 0; i < body.length; i++) {
    const d = body.charCodeAt(body.length - 1 - i) - 48;
    sum += i % 2 === 0 ? d * 3 : d;
  }
  return (10 - (sum % 10)) % 10 === digits.charCodeAt(digits.length - 1) - 48;
}

/** The GTIN-14 a scan names, if it is a product code. */
export function gtin(raw: string): string | null {
  let code = raw.trim();
  // AIM symbology identifier of GS1-128 (`]C1`) and the FNC1 as GS (0x1D).
  if (code.startsWith(']C1') || code.startsWith(']e0') || code.startsWith(']d2')) code = code.slice(3);
  code = code.replace(/^\u001d/, '');
  // GS1 application identifier (01): the GTIN, in brackets or not.
  const ai = /^\(01\)(\d{14})/.exec(code) ?? /^01(\d{14})(?:\d|\u001d|$)/.exec(code);
  if (ai && ai[1] && code.length > 14) code = ai[1];
  if (!/^\d+$/.test(code)) return null;
  if (![8, 12, 13, 14].includes(code.length)) return null;
  if (!checkDigitOk(code)) return null;
  return code.padStart(14, '0');
}

export interface Matchable { sku: string; barcode: string | null; remaining: number }

/** Which line a scan names: by product code when it is one, else by SKU (case-insensitive). */
export function matchLine<L extends Matchable>(lines: readonly L[], raw: string): L | null {
  const g = gtin(raw);
  const wanted = raw.trim().toUpperCase();
  const named = lines.filter((l) =>
    (g !== null && l.barcode !== null && gtin(l.barcode) === g) || l.sku.toUpperCase() === wanted);
  return named.find((l) => l.remaining > 0) ?? named[0] ?? null;
}

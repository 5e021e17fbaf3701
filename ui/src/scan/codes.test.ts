import { describe, expect, it } from 'vitest';
import { gtin, matchLine } from './codes';

describe('product codes', () => {
  it('UPC-A, EAN-13 and GTIN-14 of one product are one GTIN', () => {
    expect(gtin('012345678905')).toBe('00012345678905');
    expect(gtin('0012345678905')).toBe('00012345678905');
    expect(gtin('00012345678905')).toBe('00012345678905');
  });
  it('a wrong check digit is not a product code', () => {
    expect(gtin('012345678906')).toBeNull();
  });
  it('takes the (01) GTIN out of a GS1-128 case label', () => {
    expect(gtin('(01)00012345678905(10)LOT7')).toBe('00012345678905');
    expect(gtin(']C10100012345678905\u001d10LOT7')).toBe('00012345678905');
    expect(gtin('010001234567890517261231')).toBe('00012345678905');
  });
  it('text is not a product code', () => {
    expect(gtin('PROD-001')).toBeNull();
    expect(gtin('')).toBeNull();
  });
  const lines = [
    { sku: 'PROD-001', barcode: '00012345678905', remaining: 0 },
    { sku: 'PROD-005', barcode: '00012345678943', remaining: 1 },
    { sku: 'PROD-001', barcode: '00012345678905', remaining: 2 },
  ];
  it('matches by product code, preferring a line still to pick', () => {
    expect(matchLine(lines, '012345678905')).toBe(lines[2]);
  });
  it('matches by SKU whatever the case', () => {
    expect(matchLine(lines, 'prod-005')).toBe(lines[1]);
  });
  it('names no line for a code not on the order', () => {
    expect(matchLine(lines, '012345678912')).toBeNull();
  });
  it('names a finished line when that is all there is (to say "already have all")', () => {
    expect(matchLine([lines[0]!], 'PROD-001')).toBe(lines[0]);
  });
});

import { describe, expect, it } from 'vitest';
import { SseParser } from './sse';

describe('server-sent events', () => {
  it('parses an event split across chunks', () => {
    const p = new SseParser();
    expect(p.push('event: order_changed\nda')).toEqual([]);
    expect(p.push('ta: {"type":"order_changed"}\n\n')).toEqual([{ event: 'order_changed', data: '{"type":"order_changed"}' }]);
  });
  it('ignores keep-alive comments', () => {
    expect(new SseParser().push(':\n\n: ping\n\n')).toEqual([]);
  });
  it('joins multi-line data and handles CRLF, even split between \\r and \\n', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\ndata: b\r\n\r\n')).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
  it('keeps the id and defaults the event name', () => {
    expect(new SseParser().push('id: 7\ndata:x\n\n')).toEqual([{ event: 'message', data: 'x', id: '7' }]);
  });
  it('an event with no data is dropped', () => {
    expect(new SseParser().push('event: lagged\n\n')).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { type Envelope, encodeEvent, encodeNdjson } from '../../src/core/envelope.ts';
import { classify } from '../../src/ocsf/catalog.ts';
import { baseMetadata } from '../../src/ocsf/event.ts';

const envelope = (container: object | undefined, message = 'm'): Envelope => ({
  event: {
    ...classify('base_event', 99, 1, 'Log'),
    time: 1,
    metadata: baseMetadata({ name: 't' }, 't'),
    message,
    device: { type_id: 0, hostname: 'h', ...(container ? { container } : {}) },
  },
  source: 's',
  raw: message,
});

describe('event encoding', () => {
  it('is exactly JSON.stringify, with a shared container object serialised once', () => {
    const shared = { uid: 'a'.repeat(64), name: 'web', image: { uid: 'sha256:x', name: 'nginx' }, labels: ['a=b'] };
    const tricky = 'quotes " and \\u0000 and "\\u0000outrider-container-" and $& $1';
    for (const [e, container] of [
      [envelope(shared), shared],
      [envelope(shared, tricky), shared],
      [envelope(undefined, tricky), undefined],
    ] as const) {
      const expected = JSON.stringify(e.event);
      expect(encodeEvent(e)).toBe(expected);
      // The event is left as it was.
      expect((e.event.device as { container?: unknown }).container).toBe(container);
    }
    // One device object referenced twice in the same event (as a finding's evidence may do).
    const twice = envelope(shared);
    twice.event.evidences = [{ device: twice.event.device }];
    expect(encodeEvent(twice)).toBe(JSON.stringify(twice.event));
    expect(encodeNdjson([envelope(shared, 'x'), envelope(shared, 'y')])).toBe(
      `${JSON.stringify(envelope(shared, 'x').event)}\n${JSON.stringify(envelope(shared, 'y').event)}\n`,
    );
  });
});

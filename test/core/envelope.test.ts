import { describe, expect, it } from 'vitest';
import {
  EncodedEnvelope,
  type Envelope,
  encodedSize,
  encodeEvent,
  encodeNdjson,
  encodeNdjsonBuffers,
  eventFact,
  eventUidOf,
  FACTS,
  Fact,
  writeFacts,
} from '../../src/core/envelope.ts';
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

describe('encoded events written as NDJSON', () => {
  const json = (message: string) => encodeEvent(envelope(undefined, message));
  // A decode worker's batch: the events' lines back to back; each envelope knows its span.
  const batchOf = (messages: string[]): EncodedEnvelope[] => {
    const bytes = Buffer.from(messages.map((m) => `${json(m)}\n`).join(''));
    let from = 0;
    return messages.map((m) => {
      const end = from + Buffer.byteLength(json(m)) + 1;
      const e = new EncodedEnvelope('s', bytes, undefined, from, end);
      from = end;
      return e;
    });
  };

  it('joins neighbours of one batch into one buffer and keeps every event, in order, byte for byte', () => {
    const [a, b, c] = batchOf(['a', 'bé', 'c']);
    const [d, e] = batchOf(['d', 'e']);
    const plain = envelope(undefined, 'p');
    // Decoded (and so no longer bytes): encoded again from its object.
    const decoded = batchOf(['x'])[0]!;
    decoded.event.message = 'x2';
    const buffers = encodeNdjsonBuffers([a!, b!, c!, d!, plain, e!, decoded]);
    // a b c (one batch), d (another), p (encoded here), e, the decoded one.
    expect(buffers.map((b) => b.toString().split('\n').length - 1)).toEqual([3, 1, 1, 1, 1]);
    expect(Buffer.concat(buffers).toString()).toBe(
      ['a', 'bé', 'c', 'd', 'p', 'e', 'x2'].map((m) => `${json(m)}\n`).join(''),
    );
    expect(encodedSize(b!)).toBe(Buffer.byteLength(json('bé')) + 1);
    expect(b!.line!.toString()).toBe(`${json('bé')}\n`);
    expect(b!.encoded).toBe(json('bé'));
  });
});

describe('event facts', () => {
  it('carry time, class, category, activity, severity and a 32-hex-digit metadata.uid exactly as the event holds them', () => {
    const uids = ['0'.repeat(32), 'f'.repeat(32), '0123456789abcdef9876543210fedcba', 'not hex', undefined];
    const events = uids.map((uid) => {
      const e = envelope(undefined);
      e.event.time = 1795392000001;
      if (uid === undefined) delete e.event.metadata.uid;
      else e.event.metadata.uid = uid;
      return e;
    });
    const facts = new Float64Array(events.length * FACTS);
    const bytes = Buffer.from('{}\n');
    for (const [i, e] of events.entries()) writeFacts(e.event, facts, i);
    events.forEach((e, i) => {
      const encoded = new EncodedEnvelope('s', bytes, undefined, 0, bytes.length, facts, i, 'h');
      for (const [fact, key] of [
        [Fact.time, 'time'],
        [Fact.classUid, 'class_uid'],
        [Fact.categoryUid, 'category_uid'],
        [Fact.activityId, 'activity_id'],
        [Fact.severityId, 'severity_id'],
      ] as const) {
        expect(eventFact(encoded, fact)).toBe(e.event[key]);
        expect(eventFact(e, fact)).toBe(e.event[key]);
      }
      const hex = /^[0-9a-f]{32}$/.test(uids[i] ?? '') ? uids[i] : undefined;
      expect(eventUidOf(encoded)).toBe(hex);
      expect(Number.isNaN(eventFact(e, Fact.uid))).toBe(hex === undefined);
    });
  });
});

// Request bodies framed around the events' JSON bytes (src/delivery/framing.ts): what a decode worker or a disk buffer
// read holds is copied as it is, neighbours as one run, and a body that is one run is not copied at all.
import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../src/core/envelope.ts';
import { BodyBuffers, ByteWriter, ndjsonBody } from '../../src/delivery/framing.ts';
import { encodedLikeWorker, makeEvents, stillBytes } from './support.ts';

const text = (body: Buffer | ByteWriter) => (body instanceof ByteWriter ? body.finish() : body).toString('utf8');

describe('NDJSON request bodies', () => {
  it('sends one batch of a decode worker as it is, without a copy', () => {
    const events = encodedLikeWorker(makeEvents(5));
    const body = ndjsonBody(events.slice(1, 4), new BodyBuffers());
    expect(body).toBeInstanceOf(Buffer);
    expect(text(body)).toBe(
      events
        .slice(1, 4)
        .map((e) => `${e.encoded}\n`)
        .join(''),
    );
    expect(stillBytes(events)).toBe(true);
  });

  it('copies runs of several batches, events encoded here and decoded ones, in order, byte for byte', () => {
    const a = encodedLikeWorker(makeEvents(3));
    const b = encodedLikeWorker(makeEvents(2, 'db'));
    const plain = makeEvents(1, 'p')[0]!;
    const decoded = encodedLikeWorker(makeEvents(1, 'x'))[0]!;
    decoded.event.message = 'changed';
    const events = [a[0]!, a[1]!, b[0]!, plain, a[2]!, decoded, b[1]!];
    const expected = events.map((e) => `${encodeEvent(e)}\n`).join('');
    const bodies = new BodyBuffers();
    const body = ndjsonBody(events, bodies);
    expect(body).toBeInstanceOf(ByteWriter);
    expect(text(body)).toBe(expected);
    // The buffer serves the next body, which is written over it.
    bodies.release(body as ByteWriter);
    expect(text(ndjsonBody([...events].reverse(), bodies))).toBe(
      [...events]
        .reverse()
        .map((e) => `${encodeEvent(e)}\n`)
        .join(''),
    );
  });
});

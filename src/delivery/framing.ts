// Request bodies of the network sinks, framed around the events' JSON bytes: what a decode worker wrote is copied in
// as it is (no decoding and no re-encoding on the main thread); other events are encoded here, once.
import { EncodedEnvelope, type Envelope, encodedSize, encodeEvent } from '../core/envelope.ts';

/** A growing byte buffer (one copy per grow; sized up front from the events' known sizes), writing into a buffer
 * it is given (a body buffer used again, see BodyBuffers) or a new one. */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity = 64 * 1024, reuse?: Buffer) {
    this.buf = reuse && reuse.length >= capacity ? reuse : Buffer.allocUnsafe(Math.max(capacity, 64));
  }

  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  text(text: string): void {
    this.ensure(text.length * 3);
    this.pos += this.buf.write(text, this.pos);
  }

  /** A number as JSON writes it (digits written here for non-negative integers: no string per number). */
  number(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
      this.text(String(value));
      return;
    }
    this.ensure(16);
    let digits = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
    let at = this.pos + digits;
    this.pos = at;
    let v = value;
    do {
      this.buf[--at] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
  }

  byte(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  copy(src: Buffer, start = 0, end = src.length): void {
    this.ensure(end - start);
    this.pos += src.copy(this.buf, this.pos, start, end);
  }

  /** The event's JSON without its newline, from byte `from` on (1: without the opening brace). */
  event(envelope: Envelope, from = 0): void {
    const json = eventJsonSpan(envelope, span);
    this.copy(json, span.start + from, span.end);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Where the event being copied is in its bytes (one object for every event). */
const span = { start: 0, end: 0 };

/** The bytes holding an event's JSON, which `span` locates in them (end excluded): a worker's batch as it is (no
 * view per event), or the event encoded here. */
export function eventJsonSpan(envelope: Envelope, span: { start: number; end: number }): Buffer {
  const bytes = envelope instanceof EncodedEnvelope ? envelope.lineSpan(span) : undefined;
  if (bytes !== undefined) {
    span.end--; // the newline
    return bytes;
  }
  const json = Buffer.from(encodeEvent(envelope));
  span.start = 0;
  span.end = json.length;
  return json;
}

/** Bytes the events' JSON take, plus `perEvent` framing bytes each: a body's size up front. */
export function bodySize(events: Envelope[], perEvent: number): number {
  let n = 0;
  for (const e of events) n += encodedSize(e) + perEvent;
  return n;
}

/** The events as one NDJSON body: the lines of a decode worker's batch (or of a disk buffer read) as they are when
 * they are all one run, else copied into a body buffer, neighbours as one copy. */
export function ndjsonBody(events: Envelope[], out: BodyBuffers): Buffer | ByteWriter {
  /** The run of lines being gathered: bytes[start, end). */
  let run: Buffer | undefined;
  let start = 0;
  let end = 0;
  let body: ByteWriter | undefined;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const bytes = e instanceof EncodedEnvelope ? e.lineSpan(span) : undefined;
    if (bytes !== undefined && bytes === run && span.start === end) {
      end = span.end;
      continue;
    }
    if (i > 0) body ??= out.writer(bodySize(events, 0));
    if (run !== undefined) body?.copy(run, start, end);
    run = bytes;
    if (bytes !== undefined) {
      start = span.start;
      end = span.end;
    } else {
      body ??= out.writer(bodySize(events, 0));
      body.text(encodeEvent(e));
      body.byte(10);
    }
  }
  if (body === undefined) return run === undefined ? Buffer.alloc(0) : run.subarray(start, end);
  if (run !== undefined) body.copy(run, start, end);
  return body;
}

/** Body buffers kept for the next requests: at most this many (one per request in flight, and one being built)… */
const MAX_SPARE_BODIES = 4;
/** …and none larger than this (a batch of huge events does not stay resident). */
const MAX_SPARE_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Request body buffers a sink uses again. Fresh memory is paid for at first touch, a page fault per 4 KiB: measured
 * on the 2-core VM, concatenating a 1.3 MB NDJSON body into a new buffer took 7 ms (8 cpu-µs per event, a quarter of
 * the main thread on the http path), writing into one used before a fraction of that.
 */
export class BodyBuffers {
  private readonly spare: Buffer[] = [];

  /** A writer for a body of about `size` bytes, into a spare buffer when one is large enough. */
  writer(size: number): ByteWriter {
    return new ByteWriter(size, this.take(size));
  }

  /** A spare buffer of at least `size` bytes, if there is one. */
  take(size: number): Buffer | undefined {
    const at = this.spare.findIndex((b) => b.length >= size);
    return at >= 0 ? this.spare.splice(at, 1)[0] : undefined;
  }

  /** A body no longer read by anyone (sent and answered, or compressed): its buffer serves a later body. */
  release(body: ByteWriter): void {
    if (body.buf.length > MAX_SPARE_BODY_BYTES) return;
    if (this.spare.length >= MAX_SPARE_BODIES) this.spare.sort((a, b) => b.length - a.length).pop();
    this.spare.push(body.buf);
  }
}

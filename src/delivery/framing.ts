// Request bodies of the network sinks, framed around the events' JSON bytes: what a decode worker wrote is copied in
// as it is (no decoding and no re-encoding on the main thread); other events are encoded here, once.
import { EncodedEnvelope, type Envelope, encodedSize, encodeEvent, encodeNdjsonBuffers } from '../core/envelope.ts';

/** A growing byte buffer (one copy per grow; sized up front from the events' known sizes). */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 64));
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

  byte(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  copy(src: Uint8Array, start = 0, end = src.length): void {
    this.ensure(end - start);
    this.buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  /** The event's JSON without its newline, from byte `from` on (1: without the opening brace). */
  event(envelope: Envelope, from = 0): void {
    const json = eventJson(envelope);
    this.copy(json, from, json.length);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** An event's JSON as bytes: a view of what the decode worker wrote, or its encoding made here. */
export function eventJson(envelope: Envelope): Buffer {
  const line = envelope instanceof EncodedEnvelope ? envelope.line : undefined;
  return line ? line.subarray(0, line.length - 1) : Buffer.from(encodeEvent(envelope));
}

/** Bytes the events' JSON take, plus `perEvent` framing bytes each: a body's size up front. */
export function bodySize(events: Envelope[], perEvent: number): number {
  let n = 0;
  for (const e of events) n += encodedSize(e) + perEvent;
  return n;
}

/** The events as one NDJSON body: neighbours from one decode worker batch are copied as one run. */
export function ndjsonBody(events: Envelope[]): Buffer {
  const parts = encodeNdjsonBuffers(events);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

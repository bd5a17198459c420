// Protobuf written by hand for the OTLP sink, and JSON transcoded token by token into OTLP AnyValues (protobuf or OTLP
// JSON): an event's body is made from the JSON bytes a decode worker wrote, without building the event or any
// AnyValue as objects. Field numbers are those of opentelemetry-proto (common/v1).
import { ByteWriter } from '../../delivery/framing.ts';

/** A protobuf buffer. Nested messages are written after a one-byte length placeholder that `end` fills in, moving
 * the message when its length needs more bytes (messages over 127 bytes: a short copy). */
export class ProtoWriter extends ByteWriter {
  /** An unsigned varint up to 2^53. */
  varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    let v = value;
    while (v >= 0x80) {
      buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[this.pos++] = v;
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** A varint field of a signed 64-bit integer (negative and unsafe values go through BigInt: rare). */
  int64(field: number, value: number): void {
    this.tag(field, 0);
    if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
      this.varint(value);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  double(field: number, value: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A fixed64 field of nanoseconds from epoch milliseconds (exact for integer milliseconds). */
  nanosFromMillis(field: number, ms: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(Math.trunc(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6)), this.pos);
    this.pos += 8;
  }

  /** A length-delimited field of bytes already encoded (a string's UTF-8, a message). */
  field(field: number, src: Uint8Array, start = 0, end = src.length): void {
    this.tag(field, 2);
    this.varint(end - start);
    this.copy(src, start, end);
  }

  string(field: number, text: string): void {
    const max = text.length * 3;
    this.tag(field, 2);
    if (max < 0x80) {
      // One length byte whatever the encoding turns out to be.
      this.ensure(1 + max);
      const n = this.buf.write(text, this.pos + 1);
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const start = this.beginMessage();
    this.ensure(max);
    this.pos += this.buf.write(text, this.pos);
    this.end(start);
  }

  /** Starts a nested message in `field`; returns what `end` needs. */
  begin(field: number): number {
    this.tag(field, 2);
    return this.beginMessage();
  }

  private beginMessage(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Writes the length of the message begun at `start`. */
  end(start: number): void {
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.buf[start] = length;
      return;
    }
    let size = 1;
    for (let v = length; v >= 0x80; v = Math.floor(v / 0x80)) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(start + size, start + 1, this.pos);
    this.pos += size - 1;
    let at = start;
    let v = length;
    while (v >= 0x80) {
      this.buf[at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[at] = v;
  }
}

// AnyValue fields
const STRING_VALUE = 1;
const BOOL_VALUE = 2;
const INT_VALUE = 3;
const DOUBLE_VALUE = 4;
const ARRAY_VALUE = 5;
const KVLIST_VALUE = 6;
// ArrayValue.values, KeyValueList.values, KeyValue.key / .value
const VALUES = 1;
const KEY = 1;
const VALUE = 2;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether the last string stringEnd found holds escapes. */
let lastStringEscaped = false;

/** The closing quote of the JSON string whose opening quote is at `open` (lastStringEscaped: whether it has escapes). */
export function stringEnd(src: Buffer, open: number): number {
  let escaped = false;
  for (let i = open + 1; i < src.length; i++) {
    const b = src[i];
    if (b === QUOTE) {
      lastStringEscaped = escaped;
      return i;
    }
    if (b === BACKSLASH) {
      escaped = true;
      i++;
    }
  }
  throw new SyntaxError('unterminated JSON string');
}

export function skipSpace(src: Buffer, at: number): number {
  let i = at;
  for (let c = src[i]; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = src[++i]);
  return i;
}

/** Writes a JSON string token's text as a length-delimited `field`: its bytes as they are, unless it has escapes. */
function stringField(src: Buffer, open: number, w: ProtoWriter, field: number): number {
  const close = stringEnd(src, open);
  if (lastStringEscaped) w.string(field, JSON.parse(src.toString('utf8', open, close + 1)) as string);
  else w.field(field, src, open + 1, close);
  return close + 1;
}

/** The index after the JSON number token at `at`. */
export function numberEnd(src: Buffer, at: number): number {
  let end = at;
  for (let d = src[end]; d !== undefined && isNumberByte(d); d = src[++end]);
  if (end === at) throw new SyntaxError(`unexpected byte ${src[at]} at ${at}`);
  return end;
}

/** An integral number an int_value holds (larger ones go as double_value, as they were parsed). */
function fitsInt64(n: number): boolean {
  return Number.isInteger(n) && Math.abs(n) < 2 ** 63;
}

function isNumberByte(d: number): boolean {
  return (d >= 0x30 && d <= 0x39) || d === 0x2d || d === 0x2b || d === 0x2e || d === 0x65 || d === 0x45;
}

/**
 * Transcodes the JSON value at `at` in `src` into the fields of an AnyValue (written into the message `w` is in),
 * the way the OpenTelemetry SDK maps a JavaScript value: objects to kvlist_value, arrays to array_value, strings,
 * booleans, integers to int_value and other numbers to double_value; null to an empty AnyValue. Returns the index
 * after the value.
 */
export function jsonToAnyValue(src: Buffer, at: number, w: ProtoWriter): number {
  let i = skipSpace(src, at);
  const c = src[i];
  if (c === 0x7b /* { */) {
    const list = w.begin(KVLIST_VALUE);
    i = skipSpace(src, i + 1);
    if (src[i] === 0x7d /* } */) {
      w.end(list);
      return i + 1;
    }
    for (;;) {
      const kv = w.begin(VALUES);
      i = stringField(src, skipSpace(src, i), w, KEY);
      i = skipSpace(src, i);
      if (src[i] !== 0x3a /* : */) throw new SyntaxError(`expected ':' at ${i}`);
      const value = w.begin(VALUE);
      i = skipSpace(src, jsonToAnyValue(src, i + 1, w));
      w.end(value);
      w.end(kv);
      if (src[i] === 0x2c /* , */) {
        i++;
        continue;
      }
      if (src[i] !== 0x7d) throw new SyntaxError(`expected ',' or '}' at ${i}`);
      w.end(list);
      return i + 1;
    }
  }
  if (c === 0x5b /* [ */) {
    const array = w.begin(ARRAY_VALUE);
    i = skipSpace(src, i + 1);
    if (src[i] === 0x5d /* ] */) {
      w.end(array);
      return i + 1;
    }
    for (;;) {
      const value = w.begin(VALUES);
      i = skipSpace(src, jsonToAnyValue(src, i, w));
      w.end(value);
      if (src[i] === 0x2c) {
        i++;
        continue;
      }
      if (src[i] !== 0x5d) throw new SyntaxError(`expected ',' or ']' at ${i}`);
      w.end(array);
      return i + 1;
    }
  }
  if (c === QUOTE) return stringField(src, i, w, STRING_VALUE);
  if (c === 0x74 /* t */) {
    w.tag(BOOL_VALUE, 0);
    w.varint(1);
    return i + 4;
  }
  if (c === 0x66 /* f */) {
    w.tag(BOOL_VALUE, 0);
    w.varint(0);
    return i + 5;
  }
  if (c === 0x6e /* n */) return i + 4;
  const end = numberEnd(src, i);
  const n = Number(src.toString('latin1', i, end));
  if (fitsInt64(n)) w.int64(INT_VALUE, n);
  else w.double(DOUBLE_VALUE, n);
  return end;
}

/**
 * Transcodes the JSON value at `at` in `src` into an OTLP JSON AnyValue (`{"stringValue":…}`, `{"kvlistValue":
 * {"values":[{"key":…,"value":…}]}}`…), as the OpenTelemetry SDK's JSON serializer writes it: strings and numbers are
 * copied as they are. Returns the index after the value.
 */
export function jsonToOtlpJson(src: Buffer, at: number, out: ByteWriter): number {
  let i = skipSpace(src, at);
  const c = src[i];
  if (c === 0x7b /* { */) {
    out.text('{"kvlistValue":{"values":[');
    i = skipSpace(src, i + 1);
    if (src[i] === 0x7d) {
      out.text(']}}');
      return i + 1;
    }
    for (;;) {
      i = skipSpace(src, i);
      const close = stringEnd(src, i);
      out.text('{"key":');
      out.copy(src, i, close + 1);
      out.text(',"value":');
      i = skipSpace(src, close + 1);
      if (src[i] !== 0x3a) throw new SyntaxError(`expected ':' at ${i}`);
      i = skipSpace(src, jsonToOtlpJson(src, i + 1, out));
      out.byte(0x7d);
      if (src[i] === 0x2c) {
        out.byte(0x2c);
        i++;
        continue;
      }
      if (src[i] !== 0x7d) throw new SyntaxError(`expected ',' or '}' at ${i}`);
      out.text(']}}');
      return i + 1;
    }
  }
  if (c === 0x5b /* [ */) {
    out.text('{"arrayValue":{"values":[');
    i = skipSpace(src, i + 1);
    if (src[i] === 0x5d) {
      out.text(']}}');
      return i + 1;
    }
    for (;;) {
      i = skipSpace(src, jsonToOtlpJson(src, i, out));
      if (src[i] === 0x2c) {
        out.byte(0x2c);
        i++;
        continue;
      }
      if (src[i] !== 0x5d) throw new SyntaxError(`expected ',' or ']' at ${i}`);
      out.text(']}}');
      return i + 1;
    }
  }
  if (c === QUOTE) {
    const close = stringEnd(src, i);
    out.text('{"stringValue":');
    out.copy(src, i, close + 1);
    out.byte(0x7d);
    return close + 1;
  }
  if (c === 0x74 /* t */) {
    out.text('{"boolValue":true}');
    return i + 4;
  }
  if (c === 0x66 /* f */) {
    out.text('{"boolValue":false}');
    return i + 5;
  }
  if (c === 0x6e /* n */) {
    out.text('{}');
    return i + 4;
  }
  const end = numberEnd(src, i);
  out.text(fitsInt64(Number(src.toString('latin1', i, end))) ? '{"intValue":' : '{"doubleValue":');
  out.copy(src, i, end);
  out.byte(0x7d);
  return end;
}

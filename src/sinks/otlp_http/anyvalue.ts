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

  /** A fixed64 field of nanoseconds from epoch milliseconds (exact for integer milliseconds before 2^43 ms). */
  nanosFromMillis(field: number, ms: number): void {
    this.tag(field, 1);
    this.ensure(8);
    // ms × 10^6 as two 32-bit halves, each product exact in a double.
    const whole = Math.trunc(ms);
    const low = (whole % 0x100000000) * 1e6 + Math.round((ms - whole) * 1e6);
    const high = Math.floor(whole / 0x100000000) * 1e6 + Math.floor(low / 0x100000000);
    this.buf.writeUInt32LE(low % 0x100000000, this.pos);
    this.buf.writeUInt32LE(high, this.pos + 4);
    this.pos += 8;
  }

  /** A length-delimited field of bytes already encoded (a string's UTF-8, a message). */
  field(field: number, src: Buffer, start = 0, end = src.length): void {
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

/** The closing quote of the JSON string whose opening quote is at `open`. */
export function stringEnd(src: Buffer, open: number): number {
  for (let i = open + 1; i < src.length; i++) {
    const b = src[i];
    if (b === QUOTE) return i;
    if (b === BACKSLASH) i++;
  }
  throw new SyntaxError('unterminated JSON string');
}

export function skipSpace(src: Buffer, at: number): number {
  let i = at;
  for (let c = src[i]; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = src[++i]);
  return i;
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

// The AnyValue field tags (field number << 3 | wire type) the transcoder writes.
const TAG_STRING = (STRING_VALUE << 3) | 2;
const TAG_BOOL = BOOL_VALUE << 3;
const TAG_INT = INT_VALUE << 3;
const TAG_ARRAY = (ARRAY_VALUE << 3) | 2;
const TAG_KVLIST = (KVLIST_VALUE << 3) | 2;
const TAG_VALUES = (VALUES << 3) | 2;
const TAG_KEY = (KEY << 3) | 2;
const TAG_VALUE = (VALUE << 3) | 2;

/** Output bytes per input byte at most (a negative integer in an array: `-1,` → 13 bytes), plus room for lengths. */
const MAX_GROWTH = 8;

/** Open messages and containers of the transcoder (shared: one transcoding runs at a time on a thread). */
const placeholders: number[] = [];
const containers: number[] = [];
const OBJECT = 0;
const ARRAY = 1;
const VALUE_MODE = 0;
const AFTER_MODE = 1;
const MEMBER_MODE = 2;

/** Fills in the length of the message whose placeholder is at `at` and ends at `pos`; a length over 127 moves the
 * message to make room. Returns the new end. */
function closeMessage(out: Buffer, at: number, pos: number): number {
  const length = pos - at - 1;
  if (length < 0x80) {
    out[at] = length;
    return pos;
  }
  const size = length < 0x4000 ? 2 : length < 0x200000 ? 3 : length < 0x10000000 ? 4 : 5;
  out.copyWithin(at + size, at + 1, pos);
  let v = length;
  let k = at;
  while (v >= 0x80) {
    out[k++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[k] = v;
  return pos + size - 1;
}

/** Copies the JSON string whose opening quote is at `i` as a length-delimited field `tag` at `pos`; sets the
 * writer's position after it and returns the index after the closing quote. */
function copyString(src: Buffer, i: number, out: Buffer, at: number, tag: number, w: ProtoWriter): number {
  out[at] = tag;
  const lengthAt = at + 1;
  let pos = lengthAt + 1;
  let j = i + 1;
  for (;;) {
    const b = src[j];
    if (b === QUOTE) break;
    if (b === BACKSLASH) {
      // Escapes: decoded by JSON.parse (in events: quotes, backslashes, control characters).
      const end = stringEnd(src, i);
      const text = JSON.parse(src.toString('utf8', i, end + 1)) as string;
      w.pos = closeMessage(out, lengthAt, lengthAt + 1 + out.write(text, lengthAt + 1));
      return end + 1;
    }
    if (b === undefined) throw new SyntaxError('unterminated JSON string');
    out[pos++] = b;
    j++;
  }
  w.pos = closeMessage(out, lengthAt, pos);
  return j + 1;
}

/**
 * Transcodes the JSON value in `src` (between `start` and `end`, as JSON.stringify writes it) into the fields of an
 * AnyValue, written at the writer's position: the way the OpenTelemetry SDK maps a JavaScript value — objects to
 * kvlist_value, arrays to array_value, strings, booleans, integers to int_value (beyond int64: double_value), other
 * numbers to double_value, null to an empty AnyValue. One pass, no recursion and no allocation but for strings with
 * escapes and numbers that are not plain integers. Returns the index after the value.
 */
export function jsonToAnyValue(src: Buffer, start: number, end: number, w: ProtoWriter): number {
  w.ensure((end - start) * MAX_GROWTH + 64);
  const out = w.buf;
  let pos = w.pos;
  let i = start;
  let depth = 0;
  let open = 0;
  // VALUE: a value starts at i. AFTER: a value ended (close what holds it). MEMBER: an object member starts at i.
  let mode = VALUE_MODE;
  for (;;) {
    if (mode === VALUE_MODE) {
      while (src[i] === 0x20 || src[i] === 0x0a || src[i] === 0x0d || src[i] === 0x09) i++;
      const c = src[i];
      mode = AFTER_MODE;
      if (c === QUOTE) {
        i = copyString(src, i, out, pos, TAG_STRING, w);
        pos = w.pos;
      } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        const isObject = c === 0x7b;
        out[pos++] = isObject ? TAG_KVLIST : TAG_ARRAY;
        placeholders[open++] = pos++;
        containers[depth++] = isObject ? OBJECT : ARRAY;
        i = skipSpace(src, i + 1);
        if (src[i] === (isObject ? 0x7d : 0x5d)) {
          i++;
          pos = closeMessage(out, placeholders[--open]!, pos);
          depth--;
        } else if (isObject) mode = MEMBER_MODE;
        else {
          out[pos++] = TAG_VALUES;
          placeholders[open++] = pos++;
          mode = VALUE_MODE;
        }
      } else if (c === 0x74 /* t */ || c === 0x66 /* f */) {
        out[pos++] = TAG_BOOL;
        out[pos++] = c === 0x74 ? 1 : 0;
        i += c === 0x74 ? 4 : 5;
      } else if (c === 0x6e /* n */) i += 4;
      else {
        // A number: plain non-negative integers are read here, anything else by Number().
        let j = i;
        let v = 0;
        for (let d = src[j]!; d >= 0x30 && d <= 0x39; d = src[++j]!) v = v * 10 + (d - 0x30);
        const next = src[j];
        if (j > i && j - i <= 15 && next !== 0x2e && next !== 0x65 && next !== 0x45) {
          out[pos++] = TAG_INT;
          while (v >= 0x80) {
            out[pos++] = (v % 0x80) | 0x80;
            v = Math.floor(v / 0x80);
          }
          out[pos++] = v;
          i = j;
        } else {
          const end = numberEnd(src, i);
          const n = Number(src.toString('latin1', i, end));
          w.pos = pos;
          if (fitsInt64(n)) w.int64(INT_VALUE, n);
          else w.double(DOUBLE_VALUE, n);
          pos = w.pos;
          i = end;
        }
      }
      continue;
    }
    if (mode === MEMBER_MODE) {
      // KeyValue { key, value: AnyValue { … } }
      i = skipSpace(src, i);
      if (src[i] !== QUOTE) throw new SyntaxError(`expected a key at ${i}`);
      out[pos++] = TAG_VALUES;
      placeholders[open++] = pos++;
      i = skipSpace(src, copyString(src, i, out, pos, TAG_KEY, w));
      pos = w.pos;
      if (src[i] !== 0x3a /* : */) throw new SyntaxError(`expected ':' at ${i}`);
      i++;
      out[pos++] = TAG_VALUE;
      placeholders[open++] = pos++;
      mode = VALUE_MODE;
      continue;
    }
    // AFTER: the value ended; what held it is closed, then the next element or member, or the container's end.
    if (depth === 0) break;
    const inObject = containers[depth - 1] === OBJECT;
    pos = closeMessage(out, placeholders[--open]!, pos);
    if (inObject) pos = closeMessage(out, placeholders[--open]!, pos);
    i = skipSpace(src, i);
    if (src[i] === 0x2c /* , */) {
      i++;
      if (inObject) mode = MEMBER_MODE;
      else {
        out[pos++] = TAG_VALUES;
        placeholders[open++] = pos++;
        mode = VALUE_MODE;
      }
      continue;
    }
    if (src[i] !== (inObject ? 0x7d : 0x5d)) throw new SyntaxError(`expected ',' or the end of a container at ${i}`);
    i++;
    pos = closeMessage(out, placeholders[--open]!, pos);
    depth--;
  }
  w.pos = pos;
  return i;
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

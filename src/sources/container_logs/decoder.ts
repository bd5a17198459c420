// Docker json-file and CRI records → one OCSF event per original application line: partial records reassembled
// (Docker splits lines over 16 KiB; CRI tags them P…F), optionally stack traces joined, bad records kept raw.
import type { ContainerRef } from '../../core/envelope.ts';
import {
  type DecodeContext,
  type DecodedEvent,
  type LineDecoder,
  LineFlags,
  type LineInfo,
} from '../../formats/decoder.ts';
import type { ContentMode } from '../../ocsf/mappers/container-content.ts';
import { type ContainerLogFormat, mapContainerLine, type RawDataMode } from '../../ocsf/mappers/container-log.ts';
import { parseRfc3339 } from '../../ocsf/time.ts';
import { LinearRegex } from '../../policy/linear-regex.ts';
import { containerFromPath } from './path-meta.ts';

export interface MultilineOptions {
  /** continue_through: lines matching `condition_pattern` continue the previous message.
   *  halt_before: lines not matching it continue the previous message; a match starts a new one. */
  mode: 'continue_through' | 'halt_before';
  condition_pattern: string;
  timeout: number;
  max_lines: number;
}

export interface ContainerDecoderOptions {
  /** Longest reassembled message kept; longer ones are cut and flagged. */
  maxMessageBytes: number;
  /** A partial line (or multiline group) waiting longer than this is emitted as it is. */
  partialTimeout: number;
  multiline?: MultilineOptions;
  container?: ContainerRef;
  /** Which security mapper applies to the lines' content (auto: sniffed per line); default none. */
  content?: ContentMode;
  /** When events carry their record in raw_data (default when_lossy). */
  rawData?: RawDataMode;
}

interface Record_ {
  stream: string;
  text: string;
  final: boolean;
  time: number;
  originalTime?: string;
  /** The record holds nothing but its text, stream and time text, each rebuildable from the event. */
  exact: boolean;
}

/** A message being assembled on one stream, from partial records or from multiline continuation. */
interface Pending {
  start: number;
  since: number;
  time: number;
  originalTime?: string;
  text: string;
  bytes: number;
  raw: string[];
  lines: number;
  untruncatedSize?: number;
  problems?: string[];
  /** Started from a record that the event can rebuild (it stays so while no other record joins it). */
  exact?: boolean;
}

/** What a container-log decoder needs from the source config (plain data: decode workers get a copy). */
export interface ContainerDecoderSettings {
  format: 'auto' | ContainerLogFormat;
  max_line_bytes: number;
  partial_timeout: number;
  multiline?: MultilineOptions;
  content: ContentMode;
  raw_data: RawDataMode;
}

/** The format a line is a valid record of (json-file: a JSON object with a "log" string; CRI: time, stream, tag), or
 * undefined for a line that is neither (garbage, a truncated record). */
export function recordFormatOf(line: string): ContainerLogFormat | undefined {
  if (line.trimStart().startsWith('{')) return typeof parseDockerJson(line) === 'string' ? undefined : 'docker-json';
  return typeof parseCri(line) === 'string' ? undefined : 'cri';
}

/** Lines longer than this are not looked at to decide a file's format (a valid shorter record comes soon enough). */
const MAX_SNIFFED_LINE_BYTES = 64 * 1024;

/**
 * `format: auto`: the format of the first valid record among the lines of `bytes` (consecutive bytes of one file,
 * ending at a line end), or undefined when none is. `atLineStart`: whether `bytes` starts a line (else its first line
 * is the end of a line that began earlier, and is not looked at). Decided once per file: one bad line (malformed,
 * invalid UTF-8, a NUL run, a cut line) never decides how the lines after it are read.
 */
export function sniffContainerFormat(bytes: Buffer, atLineStart: boolean): ContainerLogFormat | undefined {
  let start = 0;
  if (!atLineStart) {
    start = bytes.indexOf(10) + 1;
    if (start === 0) return undefined;
  }
  for (let nl = bytes.indexOf(10, start); nl >= 0; start = nl + 1, nl = bytes.indexOf(10, start)) {
    if (nl - start > MAX_SNIFFED_LINE_BYTES) continue;
    const format = recordFormatOf(bytes.toString('utf8', start, nl));
    if (format) return format;
  }
  return undefined;
}

/** The decoder for one container log file (its path names the container, CRI paths the pod too). `format`: the
 * file's, when `settings.format` is auto and it is known (see sniffContainerFormat; ContainerLogDecoder.decide). */
export function createContainerDecoder(
  settings: ContainerDecoderSettings,
  ctx: DecodeContext,
  format: ContainerLogFormat | undefined,
): ContainerLogDecoder {
  const container = ctx.path ? containerFromPath(ctx.path) : undefined;
  return new ContainerLogDecoder(settings.format === 'auto' ? format : settings.format, ctx, {
    maxMessageBytes: settings.max_line_bytes,
    partialTimeout: settings.partial_timeout,
    ...(settings.multiline ? { multiline: settings.multiline } : {}),
    ...(container ? { container } : {}),
    content: settings.content,
    rawData: settings.raw_data,
  });
}

export class ContainerLogDecoder implements LineDecoder {
  private readonly partials = new Map<string, Pending>();
  private readonly groups = new Map<string, Pending>();
  private readonly condition: LinearRegex | undefined;

  constructor(
    /** Undefined until the file's format is known (`format: auto` before its first valid record): every line is then
     * kept raw as unrecognised, so nothing is held that a later decision could read differently. */
    private format: ContainerLogFormat | undefined,
    private readonly ctx: DecodeContext,
    private readonly options: ContainerDecoderOptions,
  ) {
    this.condition = options.multiline ? new LinearRegex(options.multiline.condition_pattern) : undefined;
  }

  /** The file's format, once known; never changes once set. */
  decide(format: ContainerLogFormat): void {
    this.format ??= format;
  }

  push(line: string, info: LineInfo, out: DecodedEvent[]): void {
    if (line.length === 0 && !(info.flags & LineFlags.Unterminated)) return;
    const format = this.format;
    const record =
      format === undefined
        ? "neither a docker json-file nor a CRI record (the file's format is not known yet)"
        : format === 'cri'
          ? parseCri(line)
          : parseDockerJson(line);
    if (typeof record === 'string' || info.flags & (LineFlags.Cut | LineFlags.InvalidUtf8)) {
      this.emitBad(line, info, typeof record === 'string' ? record : undefined, out);
      return;
    }
    let pending = this.partials.get(record.stream);
    // The common case: a whole line in one record, not joined to others. It is emitted as it is; a message holds no
    // more UTF-8 bytes than its record has characters times three (JSON escapes only lengthen a record).
    if (
      record.final &&
      !pending &&
      !this.condition &&
      !(info.flags & LineFlags.Unterminated) &&
      line.length * 3 <= this.options.maxMessageBytes
    ) {
      this.emitMessage(
        record.stream,
        record.text,
        record.time,
        record.originalTime,
        line,
        record.exact ? 'exact' : 1,
        undefined,
        undefined,
        out,
      );
      return;
    }
    const problems: string[] = [];
    if (info.flags & LineFlags.Unterminated) problems.push('record not terminated by a newline (file ended mid-line)');
    if (!pending) {
      pending = { start: info.start, since: Date.now(), time: record.time, text: '', bytes: 0, raw: [], lines: 1 };
      if (record.originalTime !== undefined) pending.originalTime = record.originalTime;
      if (record.exact) pending.exact = true;
    }
    appendText(pending, record.text, this.options.maxMessageBytes);
    pending.raw.push(line);
    if (problems.length > 0) pending.problems = [...(pending.problems ?? []), ...problems];
    if (record.final) {
      this.partials.delete(record.stream);
      this.complete(record.stream, pending, out);
    } else {
      this.partials.set(record.stream, pending);
    }
  }

  heldFrom(): number | undefined {
    let min: number | undefined;
    for (const p of this.partials.values()) if (min === undefined || p.start < min) min = p.start;
    for (const g of this.groups.values()) if (min === undefined || g.start < min) min = g.start;
    return min;
  }

  flushExpired(now: number, out: DecodedEvent[]): void {
    const limit = this.options.partialTimeout;
    for (const [stream, p] of this.partials) {
      if (now - p.since >= limit) {
        this.partials.delete(stream);
        this.complete(stream, withProblem(p, 'partial line never completed; emitted after partial_timeout'), out);
      }
    }
    const groupLimit = this.options.multiline?.timeout ?? limit;
    for (const [stream, g] of this.groups) {
      if (now - g.since >= groupLimit) {
        this.groups.delete(stream);
        this.emit(stream, g, out);
      }
    }
  }

  flush(out: DecodedEvent[]): void {
    for (const [stream, p] of this.partials)
      this.complete(stream, withProblem(p, 'partial line never completed before the log ended'), out);
    this.partials.clear();
    for (const [stream, g] of this.groups) this.emit(stream, g, out);
    this.groups.clear();
  }

  /** A whole application line: joins it to a multiline group when configured, else emits it. */
  private complete(stream: string, message: Pending, out: DecodedEvent[]): void {
    const ml = this.options.multiline;
    if (!ml || !this.condition) {
      this.emit(stream, message, out);
      return;
    }
    const group = this.groups.get(stream);
    const matches = this.condition.test(message.text);
    const continues = ml.mode === 'continue_through' ? matches : !matches;
    if (group && continues && group.lines < ml.max_lines) {
      appendText(group, `\n${message.text}`, this.options.maxMessageBytes);
      group.raw.push(...message.raw);
      group.lines += 1;
      if (message.problems) group.problems = [...(group.problems ?? []), ...message.problems];
      if (message.untruncatedSize !== undefined)
        group.untruncatedSize = (group.untruncatedSize ?? group.bytes) + message.untruncatedSize;
      return;
    }
    if (group) this.emit(stream, group, out);
    message.since = Date.now();
    this.groups.set(stream, message);
  }

  private emit(stream: string, p: Pending, out: DecodedEvent[]): void {
    const raw = p.raw.length === 1 ? p.raw[0]! : p.raw.join('\n');
    const records = p.raw.length === 1 && p.exact ? 'exact' : p.raw.length;
    this.emitMessage(stream, p.text, p.time, p.originalTime, raw, records, p.untruncatedSize, p.problems, out);
  }

  /** One application line as its event. `records`: how many records it was joined from, or `exact` for a single
   * record that the event's message, stream and time text rebuild exactly. */
  private emitMessage(
    stream: string,
    message: string,
    time: number,
    originalTime: string | undefined,
    raw: string,
    records: number | 'exact',
    untruncatedSize: number | undefined,
    problems: string[] | undefined,
    out: DecodedEvent[],
  ): void {
    const container = this.options.container;
    const { event, composed } = mapContainerLine({
      // Set: a message is only assembled from records parsed in the file's format.
      format: this.format!,
      message,
      time,
      originalTime,
      stream,
      raw,
      exact: records === 'exact',
      ...(this.options.rawData ? { rawData: this.options.rawData } : {}),
      path: this.ctx.path,
      container,
      hostname: this.ctx.hostname,
      untruncatedSize,
      problems,
      content: this.options.content,
      onProblem: this.ctx.onProblem,
    });
    if (untruncatedSize !== undefined)
      this.ctx.onProblem('line_too_long', `line of ${untruncatedSize} bytes cut at ${this.options.maxMessageBytes}`);
    const decoded: DecodedEvent = container ? { event, raw, container } : { event, raw };
    // A line of one record (a line joined from several could spell a word across their boundary).
    if (composed && (records === 'exact' || records === 1) && !problems && untruncatedSize === undefined)
      decoded.fromRaw = composed;
    out.push(decoded);
  }

  /** A record that could not be parsed (or was cut, or not UTF-8): kept whole as its own event, flagged. */
  private emitBad(line: string, info: LineInfo, parseError: string | undefined, out: DecodedEvent[]): void {
    const problems: string[] = [];
    let reason = 'malformed_record';
    if (info.flags & LineFlags.Cut) {
      reason = 'line_too_long';
      problems.push(`record of ${info.originalBytes ?? '?'} bytes cut at the max_line_bytes limit`);
    }
    if (info.flags & LineFlags.InvalidUtf8) {
      reason = 'invalid_utf8';
      problems.push('record is not valid UTF-8; invalid bytes replaced with U+FFFD');
    }
    if (info.flags & LineFlags.Unterminated) problems.push('record not terminated by a newline (file ended mid-line)');
    if (parseError)
      problems.push(
        this.format === undefined
          ? `unrecognised record: ${parseError}`
          : `malformed ${this.format === 'cri' ? 'CRI' : 'docker json-file'} record: ${parseError}`,
      );
    // The most specific reason wins: a cut or non-UTF-8 record usually fails to parse as a consequence.
    this.ctx.onProblem(reason, problems.join('; '));
    const { event } = mapContainerLine({
      // Not known yet: the runtime the path names (a CRI pod directory, Docker's containers directory).
      format: this.format ?? (this.options.container?.runtime === 'cri' ? 'cri' : 'docker-json'),
      message: line,
      time: Date.now(),
      raw: line,
      ...(this.ctx.path ? { path: this.ctx.path } : {}),
      ...(this.options.container ? { container: this.options.container } : {}),
      hostname: this.ctx.hostname,
      ...(this.options.rawData ? { rawData: this.options.rawData } : {}),
      ...(info.flags & LineFlags.Cut && info.originalBytes !== undefined
        ? { untruncatedSize: info.originalBytes }
        : {}),
      problems,
    });
    out.push({ event, raw: line, ...(this.options.container ? { container: this.options.container } : {}) });
  }
}

function withProblem(p: Pending, problem: string): Pending {
  p.problems = [...(p.problems ?? []), problem];
  return p;
}

function appendText(p: Pending, text: string, max: number): void {
  const size = Buffer.byteLength(text);
  if (p.untruncatedSize !== undefined) {
    p.untruncatedSize += size;
    return;
  }
  if (p.bytes + size <= max) {
    p.text += text;
    p.bytes += size;
    return;
  }
  // Cut on a character boundary: a trailing replacement character means a multi-byte character was split.
  const cut = Buffer.from(text)
    .subarray(0, max - p.bytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  p.text += cut;
  p.untruncatedSize = p.bytes + size;
  p.bytes = max;
}

/** `{"log":"…","stream":"stdout","time":"…"}` → record, or an error text. */
export function parseDockerJson(line: string): Record_ | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    return (err as Error).message;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const o = v as { log?: unknown; stream?: unknown; time?: unknown };
  if (typeof o.log !== 'string') return 'missing "log" string';
  let keys = 0;
  for (const _ in o) keys++;
  const timeText = typeof o.time === 'string' ? o.time : undefined;
  const time = timeText !== undefined ? parseRfc3339(timeText) : undefined;
  let text = o.log;
  const final = text.endsWith('\n');
  const crlf = final && text.charCodeAt(text.length - 2) === 13;
  if (final) text = crlf ? text.slice(0, -2) : text.slice(0, -1);
  const record: Record_ = {
    stream: typeof o.stream === 'string' ? o.stream : 'stdout',
    text,
    final,
    time: time ?? Date.now(),
    // Docker writes exactly these three keys (a fourth, `attrs`, with log-opt labels or env).
    exact: final && !crlf && keys === 3 && typeof o.stream === 'string' && time !== undefined,
  };
  if (timeText !== undefined) record.originalTime = timeText;
  return record;
}

/** `<RFC3339Nano> <stdout|stderr> <P|F>[:attrs] <text>` → record, or an error text. */
export function parseCri(line: string): Record_ | string {
  const s1 = line.indexOf(' ');
  const s2 = s1 < 0 ? -1 : line.indexOf(' ', s1 + 1);
  if (s2 < 0) return 'expected "<time> <stream> <tag> <message>"';
  const timeText = line.slice(0, s1);
  const time = parseRfc3339(timeText);
  if (time === undefined) return `invalid timestamp "${timeText.slice(0, 40)}"`;
  const stream = line.slice(s1 + 1, s2);
  const s3 = line.indexOf(' ', s2 + 1);
  const tag = s3 < 0 ? line.slice(s2 + 1) : line.slice(s2 + 1, s3);
  const kind = tag.split(':')[0];
  if (kind !== 'P' && kind !== 'F') return `unknown tag "${tag.slice(0, 20)}"`;
  return {
    stream,
    text: s3 < 0 ? '' : line.slice(s3 + 1),
    final: kind === 'F',
    time,
    originalTime: timeText,
    // `<time> <stream> F <text>` is rebuilt from the event; attributes after the tag are not kept.
    exact: tag === 'F' && s3 >= 0,
  };
}

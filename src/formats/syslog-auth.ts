// Auth log lines (RFC 3164 / RFC 5424 syslog, journalctl text forms, journald JSON, bare sshd stderr) → one OCSF
// event per line; a `journalctl -o export` entry (KEY=value lines ended by an empty line) → one event per entry.
// Export writes a value holding a newline or other control bytes (userdel's SYSLOG_RAW ends in "\n") as a binary
// field: the name alone on a line, then a 64-bit little-endian length and the bytes, then a newline; its empty lines
// are part of the value, not the end of the entry.
import { repairTime } from '../ocsf/mappers/common.ts';
import { mapAuthLog } from '../ocsf/mappers/syslog-auth.ts';
import { type AuthFact, classifyAuthMessage } from '../parsers/auth-messages.ts';
import {
  JOURNAL_EXPORT_FIELD,
  JOURNAL_EXPORT_START,
  journaldRecord,
  parseSyslogLine,
  type SyslogRecord,
} from '../parsers/syslog.ts';
import type { DecodeContext, DecodedEvent, LineDecoder, LineInfo, RecordFormat } from './decoder.ts';
import { decodeLine } from './per-line.ts';
import { StoryTracker } from './stories.ts';

export interface SyslogAuthOptions {
  /** Minutes east of UTC in which RFC 3164 times (no zone) are read; default 0 (UTC). */
  timezoneOffset?: number;
  /** The instant RFC 3164 times (no year) are placed before; default: now. Tests pin it. */
  now?: number;
  /** A journal export entry without its closing empty line is emitted after this long (ms); default 1000. */
  entryTimeout?: number;
}

interface ExportEntry {
  start: number;
  since: number;
  lines: string[];
  fields: Record<string, string>;
  /** A binary field being read: its name and the text after the name line so far (lines joined by newlines). */
  binary?: { name: string; text?: string };
  /** A binary field whose length was not fully known ended at a line end, and its value may hold one more newline:
   * an empty line next is that newline if the entry goes on, or the entry's end if an entry (or nothing) follows. */
  open?: { name: string; sawEmpty: boolean };
}

const EXPORT_FIELD_NAME = /^[A-Z0-9_]+$/;
/** A binary field longer than this is not a log message: its end is no longer looked for (the entry is kept raw). */
const MAX_BINARY_FIELD_BYTES = 1024 * 1024;

export class SyslogAuthDecoder implements LineDecoder {
  private lastTime: number | undefined;
  private entry: ExportEntry | undefined;
  private readonly stories = new StoryTracker();

  constructor(
    private readonly ctx: DecodeContext,
    private readonly options: SyslogAuthOptions = {},
  ) {}

  push(line: string, info: LineInfo, out: DecodedEvent[]): void {
    if (this.entry || JOURNAL_EXPORT_START.test(line)) {
      this.pushExport(line, info, out);
      return;
    }
    if (line.length === 0) return;
    out.push(decodeLine(this.ctx, (l) => this.mapLine(l), line, info));
  }

  heldFrom(): number | undefined {
    return this.entry?.start;
  }

  flushExpired(now: number, out: DecodedEvent[]): void {
    if (this.entry && now - this.entry.since >= (this.options.entryTimeout ?? 1000)) this.emitEntry(out);
  }

  flush(out: DecodedEvent[]): void {
    if (this.entry) this.emitEntry(out);
  }

  private pushExport(line: string, info: LineInfo, out: DecodedEvent[]): void {
    const binary = this.entry?.binary;
    if (binary) {
      this.entry!.lines.push(line);
      binary.text = binary.text === undefined ? line : `${binary.text}\n${line}`;
      const value = binaryFieldValue(binary.text);
      if (value !== undefined) {
        this.entry!.fields[binary.name] = value.data;
        this.entry!.binary = undefined;
        if (value.mayGrow) this.entry!.open = { name: binary.name, sawEmpty: false };
      }
      return;
    }
    const open = this.entry?.open;
    if (open) {
      if (line.length === 0 && !open.sawEmpty) {
        open.sawEmpty = true;
        return;
      }
      this.entry!.open = undefined;
      if (open.sawEmpty) {
        if (line.length === 0 || JOURNAL_EXPORT_START.test(line)) this.emitEntry(out);
        else {
          // The empty line was the value's last byte, a newline.
          this.entry!.fields[open.name] += '\n';
          this.entry!.lines.push('');
        }
        if (line.length === 0) return;
      }
    }
    if (line.length === 0) {
      this.emitEntry(out);
      return;
    }
    this.entry ??= { start: info.start, since: Date.now(), lines: [], fields: {} };
    this.entry.lines.push(line);
    const m = JOURNAL_EXPORT_FIELD.exec(line);
    if (m) this.entry.fields[m[1]!] = m[2]!;
    else if (EXPORT_FIELD_NAME.test(line)) this.entry.binary = { name: line };
  }

  private emitEntry(out: DecodedEvent[]): void {
    const entry = this.entry!;
    this.entry = undefined;
    const raw = entry.lines.join('\n');
    out.push(
      decodeLine(
        this.ctx,
        () => {
          const record = journaldRecord(entry.fields) ?? { form: 'journald' as const, message: raw };
          return this.map(record, raw);
        },
        raw,
        { start: entry.start, flags: 0 },
      ),
    );
  }

  private mapLine(line: string) {
    const record = parseSyslogLine(line, {
      now: this.options.now ?? Date.now(),
      timezoneOffset: this.options.timezoneOffset ?? 0,
    });
    return this.map(record, line);
  }

  private map(record: SyslogRecord, raw: string) {
    const fact = classifyAuthMessage(record.message);
    const fallbackTime = this.lastTime ?? this.options.now ?? Date.now();
    const correlationUid = this.correlate(record, fact, record.time ?? fallbackTime);
    const event = mapAuthLog(
      record,
      raw,
      {
        hostname: this.ctx.hostname,
        fallbackTime,
        onProblem: this.ctx.onProblem,
        ...(correlationUid ? { correlationUid } : {}),
      },
      fact,
    );
    repairTime(event, fallbackTime, this.ctx.onProblem);
    this.lastTime = event.time;
    return event;
  }

  /**
   * The story a line belongs to: the lines one program instance (host, program, pid) writes for one action or
   * session, and for sshd also the lines of its per-connection child, found by the client's address and port
   * ("Accepted … from IP port P", then "Disconnected from user U IP port P" from another pid). Lines without a pid
   * (sudo's and su's PAM lines on Debian) belong to none.
   */
  private correlate(record: SyslogRecord, fact: AuthFact | undefined, time: number): string | undefined {
    const host = record.host ?? this.ctx.hostname;
    const app = record.app ?? '';
    const pidKey = record.pid !== undefined ? `p|${host}|${app}|${record.pid}` : undefined;
    const address =
      (fact?.kind === 'auth' || fact?.kind === 'connection') && fact.srcIp && fact.srcPort !== undefined
        ? `a|${host}|${fact.srcIp}|${fact.srcPort}`
        : undefined;
    let story = (pidKey && this.stories.find(pidKey, time)) || (address && this.stories.find(address, time));
    if (!story) {
      if (!pidKey) return undefined;
      story = this.stories.start(pidKey, `${host}:${app}:${record.pid}:${time}`, time);
    }
    if (pidKey) this.stories.bind(pidKey, story, time);
    if (address) this.stories.bind(address, story, time);
    if (fact?.kind === 'auth' && fact.ok && fact.activity !== 2) story.sessionOpen = true;
    // PAM's session close (sshd's monitor writes it after its child's disconnect lines) ends the story.
    if (fact?.kind === 'auth' && fact.activity === 2 && fact.service && pidKey) this.stories.end(pidKey);
    return story.uid;
  }
}

/**
 * The value of a binary export field once `text` (the lines after its name, newline-joined) holds all of it, else
 * undefined. The 8 length bytes arrive as text: a byte ≥ 0x80 was replaced with U+FFFD by UTF-8 decoding, so its value
 * is only known to lie in 0x80..0xFF: the value then ends at the first line end where its size reaches the smallest
 * length the bytes can stand for, and `mayGrow` says a newline more would still fit.
 */
export function binaryFieldValue(text: string): { data: string; mayGrow: boolean } | undefined {
  if (text.length < 8) return undefined;
  let min = 0;
  let max = 0;
  for (let i = 7; i >= 0; i--) {
    const c = text.charCodeAt(i);
    // Not a length prefix: keep what there is.
    if (c >= 0x80 && c !== 0xfffd) return { data: text.slice(8), mayGrow: false };
    min = min * 256 + (c === 0xfffd ? 0x80 : c);
    max = max * 256 + (c === 0xfffd ? 0xff : c);
  }
  const data = text.slice(8);
  const size = Buffer.byteLength(data);
  if (size < min && size <= MAX_BINARY_FIELD_BYTES) return undefined;
  return { data, mayGrow: size < max };
}

export const syslogAuthFormat: RecordFormat<SyslogAuthOptions> = {
  name: 'syslog-auth',
  description: 'auth.log / secure (sshd, PAM, sudo, su, useradd…): RFC 3164, RFC 5424, journald JSON and export',
  createDecoder: (ctx, options) => new SyslogAuthDecoder(ctx, options),
};

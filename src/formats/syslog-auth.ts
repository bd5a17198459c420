// Auth log lines (RFC 3164 / RFC 5424 syslog, journald JSON, bare sshd stderr) → one OCSF event per line; a
// `journalctl -o export` entry (KEY=value lines ended by an empty line) → one event per entry.
import { repairTime } from '../ocsf/mappers/common.ts';
import { mapAuthLog } from '../ocsf/mappers/syslog-auth.ts';
import { JOURNAL_EXPORT_FIELD, JOURNAL_EXPORT_START, journaldRecord, parseSyslogLine } from '../parsers/syslog.ts';
import type { DecodeContext, DecodedEvent, LineDecoder, LineInfo, RecordFormat } from './decoder.ts';
import { decodeLine } from './per-line.ts';

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
}

export class SyslogAuthDecoder implements LineDecoder {
  private lastTime: number | undefined;
  private entry: ExportEntry | undefined;

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
    if (line.length === 0) {
      this.emitEntry(out);
      return;
    }
    this.entry ??= { start: info.start, since: Date.now(), lines: [], fields: {} };
    this.entry.lines.push(line);
    const m = JOURNAL_EXPORT_FIELD.exec(line);
    // Binary fields (a name line followed by a length-prefixed value) cannot be read line by line: kept raw only.
    if (m) this.entry.fields[m[1]!] = m[2]!;
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

  private map(record: Parameters<typeof mapAuthLog>[0], raw: string) {
    const event = mapAuthLog(record, raw, {
      hostname: this.ctx.hostname,
      fallbackTime: this.lastTime ?? this.options.now ?? Date.now(),
      onProblem: this.ctx.onProblem,
    });
    repairTime(event, this.lastTime ?? this.options.now ?? Date.now(), this.ctx.onProblem);
    this.lastTime = event.time;
    return event;
  }
}

export const syslogAuthFormat: RecordFormat<SyslogAuthOptions> = {
  name: 'syslog-auth',
  description: 'auth.log / secure (sshd, PAM, sudo, su, useradd…): RFC 3164, RFC 5424, journald JSON and export',
  createDecoder: (ctx, options) => new SyslogAuthDecoder(ctx, options),
};

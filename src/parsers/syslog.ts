// Syslog records in the forms auth logs come in: RFC 3164 (`Nov 23 10:00:00 host sshd[1]: msg`: rsyslog's
// RSYSLOG_TraditionalFileFormat, syslog-ng's default, `journalctl -o short` / `short-precise`), the same with an
// RFC 3339 time (RSYSLOG_FileFormat, `journalctl -o short-iso` / `short-iso-precise`, whose offset has no colon),
// `journalctl -o short-full` (`Sat 2026-12-05 00:46:52 UTC host …`) and `-o short-unix` (`1796431612.872474 host …`),
// RFC 5424 (`<38>1 2026-11-23T10:00:00Z host sshd 1 - - msg`: RSYSLOG_SyslogProtocol23Format, whose MSG keeps the
// space that followed the tag, and may start with a UTF-8 BOM; a message received as RFC 5424 is written by the file
// templates as `host app[pid] msg`, without the colon), journald JSON (`journalctl -o json`), and a bare message (sshd
// -e writing to stderr in a container).
import { MONTHS } from '../ocsf/mappers/common.ts';

export interface SyslogRecord {
  form: 'rfc3164' | 'rfc5424' | 'journald' | 'journalctl' | 'bare';
  /** Epoch ms, when the record has a time. */
  time?: number;
  /** The record's own time text. */
  originalTime?: string;
  /** Minutes east of UTC, when the record says. */
  timezoneOffset?: number;
  host?: string;
  app?: string;
  pid?: number;
  msgid?: string;
  structuredData?: string;
  facility?: number;
  severity?: number;
  message: string;
}

export interface SyslogParseOptions {
  /** RFC 3164 times have no year: the year that puts the time closest before this instant is used. */
  now: number;
  /** RFC 3164 times have no zone: minutes east of UTC they are read in (default 0, UTC). */
  timezoneOffset: number;
}

// The tag's colon is optional: rsyslog writes a message that came in as RFC 5424 as `host app[pid] msg`.
const RFC3164 =
  /^(?:<(\d{1,3})>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? (\S+) ([^\s:[]+)(?:\[(\d+)\])?:? ?(.*)$/s;
const ISO3164 =
  /^(?:<(\d{1,3})>)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) (\S+) ([^\s:[]+)(?:\[(\d+)\])?:? ?(.*)$/s;
/** `journalctl -o short-full`: weekday, date, time, zone name (or ±hhmm). */
const JOURNAL_FULL =
  /^[A-Z][a-z]{2} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ([A-Za-z]{1,5}|[+-]\d{4}) (\S+) ([^\s:[]+)(?:\[(\d+)\])?: ?(.*)$/s;
/** `journalctl -o short-unix`: seconds since the epoch with microseconds. */
const JOURNAL_UNIX = /^(\d{9,11})(?:\.(\d{1,9}))? (\S+) ([^\s:[]+)(?:\[(\d+)\])?: ?(.*)$/s;
const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$/s;
const ZONE = /(Z|([+-])(\d\d):?(\d\d))$/;

export function parseSyslogLine(line: string, options: SyslogParseOptions): SyslogRecord {
  const c = line.charCodeAt(0);
  if (c === 123 /* { */) {
    const j = parseJournaldJson(line);
    if (j) return j;
  }
  let m = RFC3164.exec(line);
  if (m) {
    const month = MONTHS[m[2]!];
    if (month !== undefined) {
      const r: SyslogRecord = {
        form: 'rfc3164',
        originalTime: line.slice(m[1] ? m[1].length + 2 : 0).slice(0, m[7] ? 16 + m[7].length : 15),
        time: yearless(month, m, options),
        host: m[8]!,
        app: m[9]!,
        message: withoutBom(m[11]!),
      };
      if (m[10]) r.pid = Number(m[10]);
      if (m[1]) setPri(r, m[1]);
      return r;
    }
  }
  m = ISO3164.exec(line);
  if (m) {
    const r: SyslogRecord = {
      form: 'rfc3164',
      originalTime: m[2]!,
      host: m[3]!,
      app: m[4]!,
      message: withoutBom(m[6]!),
    };
    setIsoTime(r, m[2]!);
    if (m[5]) r.pid = Number(m[5]);
    if (m[1]) setPri(r, m[1]);
    return r;
  }
  m = RFC5424.exec(line);
  if (m) {
    const r: SyslogRecord = { form: 'rfc5424', message: rfc5424Message(m[8] ?? '') };
    setPri(r, m[1]!);
    if (m[2] !== '-') {
      r.originalTime = m[2]!;
      setIsoTime(r, m[2]!);
    }
    if (m[3] !== '-') r.host = m[3]!;
    if (m[4] !== '-') r.app = m[4]!;
    if (m[5] !== '-' && /^\d+$/.test(m[5]!)) r.pid = Number(m[5]);
    if (m[6] !== '-') r.msgid = m[6]!;
    if (m[7] !== '-') r.structuredData = m[7]!;
    return r;
  }
  m = JOURNAL_FULL.exec(line);
  if (m) {
    const r: SyslogRecord = {
      form: 'journalctl',
      originalTime: `${m[1]} ${m[2]} ${m[3]}`,
      host: m[4]!,
      app: m[5]!,
      message: m[7]!,
    };
    const zone = m[3]!;
    // A zone name other than UTC says nothing exact (CET, EST…): the configured offset is used, as for RFC 3164.
    const offset = /^[+-]/.test(zone)
      ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3)))
      : zone === 'UTC' || zone === 'GMT' || zone === 'Z'
        ? 0
        : options.timezoneOffset;
    const ms = Date.parse(`${m[1]}T${m[2]}Z`);
    if (!Number.isNaN(ms)) {
      r.time = ms - offset * 60_000;
      r.timezoneOffset = offset;
    }
    if (m[6]) r.pid = Number(m[6]);
    return r;
  }
  m = JOURNAL_UNIX.exec(line);
  if (m) {
    const r: SyslogRecord = {
      form: 'journalctl',
      originalTime: m[2] ? `${m[1]}.${m[2]}` : m[1]!,
      time: Number(m[1]) * 1000 + Number((m[2] ?? '').slice(0, 3).padEnd(3, '0')),
      timezoneOffset: 0,
      host: m[3]!,
      app: m[4]!,
      message: m[6]!,
    };
    if (m[5]) r.pid = Number(m[5]);
    return r;
  }
  return { form: 'bare', message: line };
}

/**
 * An RFC 5424 MSG: rsyslog's RSYSLOG_SyslogProtocol23Format writes `%STRUCTURED-DATA% %msg%`, and the msg of a
 * message that came in as RFC 3164 (`sshd[1]: Accepted…`) starts with the space after the tag; a UTF-8 BOM marks
 * MSG-UTF8. Both are framing, not content.
 */
function rfc5424Message(text: string): string {
  return withoutBom(text.charCodeAt(0) === 32 ? text.slice(1) : text);
}

/** A message that came in as RFC 5424 MSG-UTF8 keeps its BOM when rsyslog writes it in a file format. */
function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function setPri(r: SyslogRecord, pri: string): void {
  const p = Number(pri);
  r.facility = p >> 3;
  r.severity = p & 7;
}

function setIsoTime(r: SyslogRecord, text: string): void {
  // `journalctl -o short-iso` writes the offset without a colon (+0000), which Date.parse does not read.
  const c = text.length - 5;
  const iso =
    (text[c] === '+' || text[c] === '-') && text[c + 3] !== ':' ? `${text.slice(0, c + 3)}:${text.slice(c + 3)}` : text;
  const ms = Date.parse(iso);
  if (!Number.isNaN(ms)) r.time = ms;
  const z = ZONE.exec(text);
  if (z) r.timezoneOffset = z[1] === 'Z' ? 0 : (z[2] === '-' ? -1 : 1) * (Number(z[3]) * 60 + Number(z[4]));
}

function yearless(month: number, m: RegExpExecArray, options: SyslogParseOptions): number {
  const offsetMs = options.timezoneOffset * 60_000;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const at = (year: number) =>
    Date.UTC(year, month, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms) - offsetMs;
  const year = new Date(options.now + offsetMs).getUTCFullYear();
  // A December line read in January belongs to last year; allow a day of clock skew into the future.
  const t = at(year);
  return t > options.now + 86_400_000 ? at(year - 1) : t;
}

function parseJournaldJson(line: string): SyslogRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return journaldRecord(v as Record<string, unknown>);
}

/** A journald entry (`journalctl -o json` object, or the fields of a `-o export` entry) as a syslog record. */
export function journaldRecord(o: Record<string, unknown>): SyslogRecord | undefined {
  const message = journalText(o.MESSAGE);
  if (message === undefined) return undefined;
  const r: SyslogRecord = { form: 'journald', message };
  // The time the program logged (the journal's display time too), else when journald received it.
  const rt = o._SOURCE_REALTIME_TIMESTAMP ?? o.__REALTIME_TIMESTAMP;
  if (typeof rt === 'string' && /^\d+$/.test(rt)) {
    r.time = Math.floor(Number(rt) / 1000);
    r.originalTime = rt;
    r.timezoneOffset = 0;
  }
  if (typeof o._HOSTNAME === 'string') r.host = o._HOSTNAME;
  const app = o.SYSLOG_IDENTIFIER ?? o._COMM;
  if (typeof app === 'string') r.app = app;
  const pid = o.SYSLOG_PID ?? o._PID;
  if (typeof pid === 'string' && /^\d+$/.test(pid)) r.pid = Number(pid);
  if (typeof o.PRIORITY === 'string') r.severity = Number(o.PRIORITY);
  if (typeof o.SYSLOG_FACILITY === 'string') r.facility = Number(o.SYSLOG_FACILITY);
  return r;
}

/** A journal field as text: `-o json` writes a value that is not printable UTF-8 as an array of byte values. */
function journalText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((b) => typeof b === 'number' && b >= 0 && b < 256))
    return Buffer.from(v as number[]).toString('utf8');
  return undefined;
}

/** The first line of a `journalctl -o export` entry (export writes these fields first). */
export const JOURNAL_EXPORT_START = /^__(?:CURSOR|REALTIME_TIMESTAMP)=/;
/** A text field line of an export entry. */
export const JOURNAL_EXPORT_FIELD = /^([A-Z0-9_]+)=(.*)$/s;

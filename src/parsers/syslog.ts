// Syslog records in the forms auth logs come in: RFC 3164 (`Nov 23 10:00:00 host sshd[1]: msg`, also with an
// RFC 3339 time as rsyslog writes it), RFC 5424 (`<38>1 2026-11-23T10:00:00Z host sshd 1 - - msg`), journald JSON
// (`journalctl -o json`), and a bare message (sshd -e writing to stderr in a container).
import { MONTHS } from '../ocsf/mappers/common.ts';

export interface SyslogRecord {
  form: 'rfc3164' | 'rfc5424' | 'journald' | 'bare';
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

const RFC3164 =
  /^(?:<(\d{1,3})>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? (\S+) ([^\s:[]+)(?:\[(\d+)\])?: ?(.*)$/s;
const ISO3164 =
  /^(?:<(\d{1,3})>)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (\S+) ([^\s:[]+)(?:\[(\d+)\])?: ?(.*)$/s;
const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$/s;
const ZONE = /(Z|([+-])(\d\d):(\d\d))$/;

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
        message: m[11]!,
      };
      if (m[10]) r.pid = Number(m[10]);
      if (m[1]) setPri(r, m[1]);
      return r;
    }
  }
  m = ISO3164.exec(line);
  if (m) {
    const r: SyslogRecord = { form: 'rfc3164', originalTime: m[2]!, host: m[3]!, app: m[4]!, message: m[6]! };
    setIsoTime(r, m[2]!);
    if (m[5]) r.pid = Number(m[5]);
    if (m[1]) setPri(r, m[1]);
    return r;
  }
  m = RFC5424.exec(line);
  if (m) {
    const r: SyslogRecord = { form: 'rfc5424', message: (m[8] ?? '').replace(/^\uFEFF/, '') };
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
  return { form: 'bare', message: line };
}

function setPri(r: SyslogRecord, pri: string): void {
  const p = Number(pri);
  r.facility = p >> 3;
  r.severity = p & 7;
}

function setIsoTime(r: SyslogRecord, text: string): void {
  const ms = Date.parse(text);
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
  if (typeof o.MESSAGE !== 'string') return undefined;
  const r: SyslogRecord = { form: 'journald', message: o.MESSAGE };
  const rt = o.__REALTIME_TIMESTAMP;
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

/** The first line of a `journalctl -o export` entry (export writes these fields first). */
export const JOURNAL_EXPORT_START = /^__(?:CURSOR|REALTIME_TIMESTAMP)=/;
/** A text field line of an export entry. */
export const JOURNAL_EXPORT_FIELD = /^([A-Z0-9_]+)=(.*)$/s;

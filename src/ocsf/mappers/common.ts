// Building blocks shared by the security mappers (auditd, k8s-audit, falco, syslog-auth, nginx): observables, the
// device object, status fields, the deterministic event id, and the Base Event a mapper falls back to when a record
// cannot be mapped. Kept here once so every family writes these attributes the same way.
import { hash } from 'node:crypto';
import { isIP } from 'node:net';
import { classify, Severity, Status, statusCaption } from '../catalog.ts';
import { addProfiles, baseMetadata, type OcsfEvent, type OcsfProduct } from '../event.ts';
import { flagProblem } from '../problems.ts';

/** OCSF observable type_ids Outrider uses (object:observable in the schema). */
export const ObservableType = {
  Hostname: 1,
  IpAddress: 2,
  UserName: 4,
  UrlString: 6,
  FileName: 7,
  Hash: 8,
  ProcessName: 9,
  ResourceUid: 10,
  Port: 11,
  CommandLine: 13,
  UserAgent: 16,
  CveUid: 18,
  Container: 27,
  FilePath: 45,
  Other: 99,
} as const;

export interface Observable {
  name: string;
  type_id: number;
  value?: string;
  type?: string;
}

/** Collects observables, skipping empty values and duplicates of the same name. */
export class Observables {
  readonly list: Observable[] = [];

  add(name: string, typeId: number, value: unknown, type?: string): void {
    if (value === undefined || value === null || value === '') return;
    for (const o of this.list) if (o.name === name) return;
    const o: Observable = { name, type_id: typeId, value: String(value) };
    if (type) o.type = type;
    this.list.push(o);
  }

  /** Sets `event.observables` when there is at least one. */
  attach(event: OcsfEvent): void {
    if (this.list.length > 0) event.observables = this.list;
  }
}

/**
 * The `user` of an authentication whose account the record does not name (sshd's invalid users before their name is
 * known, a PAM failure without user=): OCSF needs a name or uid, and a placeholder name would read like an account.
 * Never an observable.
 */
export function unknownUser(): Record<string, unknown> {
  return { uid: 'unknown', type_id: 0, type: 'Unknown' };
}

/** How a PAM service logs a user on (OCSF logon_type_id, logon_type): the same values the auditd mapper writes. */
export const LOGON_TYPES: Record<string, [number, string]> = {
  sshd: [10, 'Remote Interactive'],
  login: [2, 'Interactive'],
  cron: [4, 'Batch'],
  crond: [4, 'Batch'],
  atd: [4, 'Batch'],
  'systemd-user': [5, 'OS Service'],
};

/** A valid `device` object: the host the record came from (type_id 0: Outrider does not know the device type). */
export function deviceObject(hostname: string | undefined): Record<string, unknown> {
  return hostname ? { type_id: 0, hostname } : { type_id: 0, name: 'unknown' };
}

/** status_id / status together (activity classes), plus the source's own code and reason when given. */
export function statusFields(statusId: number, code?: string, detail?: string): Record<string, unknown> {
  const out: Record<string, unknown> = { status_id: statusId, status: statusCaption(statusId) };
  if (code !== undefined && code !== '') out.status_code = code;
  if (detail !== undefined && detail !== '') out.status_detail = detail;
  return out;
}

/**
 * A deterministic id for an OCSF event: the same record at the same place always gives the same id, so a replay
 * after a crash (at-least-once delivery) can be de-duplicated downstream, while identical lines at different offsets
 * (a brute force logs the same line many times) stay distinct.
 */
export function eventUid(...parts: Array<string | number | undefined>): string {
  let text = '';
  for (const p of parts) text += p === undefined ? '\u0000' : `${p}\u0001`;
  // One-shot hashing: several times cheaper than createHash() for short inputs.
  const hex = hash('sha256', text, 'hex');
  // Formatted like a UUID (version nibble 5, RFC 4122 variant) so SIEM id columns typed as UUID accept it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The range the OCSF validator accepts for timestamp_t milliseconds (1973..2286). */
const PLAUSIBLE_MS = { min: 1e11, max: 1e13 };

/**
 * A record whose own time is nonsense (`audit(1.1:1)`, a year-1970 access line) keeps it in metadata.original_time but
 * gets `fallback` (the previous record's time, or the read time) as `time`, flagged: a valid event beats a lost one.
 */
export function repairTime(
  event: OcsfEvent,
  fallback: number,
  onProblem?: (reason: string, detail: string) => void,
): void {
  if (event.time >= PLAUSIBLE_MS.min && event.time < PLAUSIBLE_MS.max) return;
  const detail = `record time ${event.time} ms is implausible; the previous record's or the read time is used`;
  event.time = fallback;
  flagProblem(event, detail);
  onProblem?.('implausible_time', detail);
}

/** True for a literal IPv4/IPv6 address (the validator rejects anything else in an ip_t field). */
export function isIpAddress(text: string | undefined): text is string {
  return text !== undefined && isIP(text) !== 0;
}

/** An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) is reported as the IPv4 address it carries. */
export function normaliseIp(text: string): string {
  return text.startsWith('::ffff:') && isIP(text.slice(7)) === 4 ? text.slice(7) : text;
}

/** Characters an argument may hold and still read as one word in a shell command line. */
const SHELL_SAFE = /^[\w@%+=:,./-]+$/;

/**
 * An argv as one command line a reader (and a shell) splits back into the same arguments: an argument holding a
 * space, a quote or a shell character is single-quoted, so `sh -c 'a | b'` does not read as a pipeline.
 */
export function shellQuote(args: readonly string[]): string {
  let line = '';
  for (const arg of args) {
    if (line !== '') line += ' ';
    line += SHELL_SAFE.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
  }
  return line;
}

export function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** An OCSF `file` object for an executable or a file path (name and type_id are required). */
export function fileObject(path: string, typeId = 1): Record<string, unknown> {
  const name = basename(path) || path;
  const file: Record<string, unknown> = { path, name, type_id: typeId };
  const i = path.lastIndexOf('/');
  if (i > 0) file.parent_folder = path.slice(0, i);
  return file;
}

export interface FallbackInput {
  product: OcsfProduct;
  logName: string;
  raw: string;
  time: number;
  hostname?: string;
  problem: string;
  unmapped?: Record<string, unknown>;
}

/** The valid Base Event a mapper returns when it cannot map a record: the raw text kept, the problem flagged. */
export function fallbackEvent(input: FallbackInput): OcsfEvent {
  const metadata = baseMetadata(input.product, input.logName);
  const event: OcsfEvent = {
    ...classify('base_event', 99, Severity.Informational, 'Unparsed record'),
    ...statusFields(Status.Failure),
    time: input.time,
    metadata,
    message: input.raw.length > 1024 ? `${input.raw.slice(0, 1024)}…` : input.raw,
    raw_data: input.raw,
  };
  if (input.hostname) {
    event.device = deviceObject(input.hostname);
    addProfiles(event, 'host');
  }
  if (input.unmapped) event.unmapped = { ...input.unmapped };
  flagProblem(event, input.problem);
  return event;
}

/**
 * Runs a mapper, turning any exception (a record shaped in a way nobody foresaw) into a flagged Base Event, so a
 * weird record never stops a pipeline and is never lost.
 */
export function mapSafely(
  map: () => OcsfEvent,
  fallback: Omit<FallbackInput, 'problem'>,
  onProblem?: (reason: string, detail: string) => void,
): OcsfEvent {
  try {
    return map();
  } catch (err) {
    const detail = `mapper failed: ${(err as Error).message}`;
    onProblem?.('mapping_failed', detail);
    return fallbackEvent({ ...fallback, problem: detail });
  }
}

/** A `±hhmm` zone offset → OCSF `timezone_offset` (minutes east of UTC). */
export function timezoneOffsetMinutes(sign: string, hh: string, mm: string): number {
  const v = Number(hh) * 60 + Number(mm);
  return sign === '-' ? -v : v;
}

export const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// Linux audit records, in both forms: the raw audit.log line (`type=SYSCALL msg=audit(1700000000.123:42): k=v …`)
// and the `ausearch -i` interpreted form (`type=SYSCALL msg=audit(11/23/26 10:00:00.123:42) : k=v …`: the date is the
// locale's `%x`, a two-digit year in the C locale, four digits in en_US, `23.11.2026` in de_DE, `2026-11-23` in ISO
// locales). Parsing
// only: grouping records of one event is done by the decoder (src/formats/auditd.ts), mapping by
// src/ocsf/mappers/auditd.ts.

export interface AuditRecord {
  /** Record type (`SYSCALL`, `EXECVE`, `USER_LOGIN`, `UNKNOWN[1334]`…). */
  type: string;
  /** `SECONDS.MILLIS:SERIAL` (raw form) or the interpreted date text with `:SERIAL`. */
  stamp: string;
  /** Event time, epoch milliseconds. */
  time: number;
  serial: string;
  /** `node=` prefix added by audisp/auditd when name_format is set. */
  node?: string;
  /** True for `ausearch -i` output (values interpreted: names instead of numbers, no quoting). */
  interpreted: boolean;
  /** The record's fields; encoded (hex) values already decoded. */
  fields: Record<string, string>;
  /** Fields of the user-space message part `msg='…'` (USER_*, CRED_*, ADD_USER…). */
  msg?: Record<string, string>;
  /** Words that are not `key=value` (DAEMON_START "auditd start," …). */
  text?: string;
  /** The line, untouched. */
  raw: string;
}

const HEADER = /(?:^|\s)(?:node=(\S+) )?type=(\S+) (?:msg=)?audit\(([^)]*)\)(?:\s?:)?\s?/;
const RAW_STAMP = /^(\d+)\.(\d{1,3}):(\d+)$/;
const INTERPRETED_STAMP =
  /^(?:(\d\d)\/(\d\d)\/(\d\d(?:\d\d)?)|(\d\d)\.(\d\d)\.(\d{4})|(\d{4})-(\d\d)-(\d\d)) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?:(\d+)$/;

/**
 * Fields whose value auditd writes either quoted (plain text) or hex-encoded (when it holds a space, a quote or a
 * control character): the "untrusted string" fields of the audit userspace field table.
 */
const ENCODED_FIELDS = new Set([
  'proctitle',
  'cwd',
  'name',
  'exe',
  'comm',
  'path',
  'acct',
  'key',
  'data',
  'cmd',
  'new-disk',
  'old-disk',
  'new-chardev',
  'old-chardev',
  'vm',
  'watch',
  'dir',
  'ocomm',
  'root_dir',
  'sw',
  'grp',
  'new_group',
]);
const HEX = /^(?:[0-9A-F]{2})+$/;
const EXECVE_ARG = /^a\d+(?:\[\d+\])?$/;

/** Parses one audit line; undefined when it is not an audit record. */
export function parseAuditLine(line: string): AuditRecord | undefined {
  const m = HEADER.exec(line);
  if (!m) return undefined;
  const [, node, type, stamp] = m as unknown as [string, string | undefined, string, string];
  let time: number;
  let serial: string;
  let interpreted = false;
  const raw = RAW_STAMP.exec(stamp);
  if (raw) {
    time = Number(raw[1]) * 1000 + Number(raw[2]!.padEnd(3, '0'));
    serial = raw[3]!;
  } else {
    const i = INTERPRETED_STAMP.exec(stamp);
    if (!i) return undefined;
    // MM/DD/YY[YY] (C and en_US), DD.MM.YYYY, YYYY-MM-DD. A two-digit year is this century's (ausearch, C locale).
    const year = Number(i[3] ?? i[6] ?? i[7]);
    const month = Number(i[1] ?? i[5] ?? i[8]);
    const day = Number(i[2] ?? i[4] ?? i[9]);
    // ausearch prints local time; Date's local constructor reads it the same way.
    time = new Date(
      year < 100 ? 2000 + year : year,
      month - 1,
      day,
      Number(i[10]),
      Number(i[11]),
      Number(i[12]),
      Number((i[13] ?? '0').padEnd(3, '0')),
    ).getTime();
    serial = i[14]!;
    interpreted = true;
  }
  // auditd's ENRICHED log format (the default since auditd 3) appends the interpreted fields (ARCH=, SYSCALL=,
  // UID=, SADDR={…}) after a \x1d group separator: a separator like a space, or the last raw value swallows it.
  const body = line.slice(m.index + m[0].length).replaceAll('\x1d', ' ');
  const record: AuditRecord = { type, stamp, time, serial, interpreted, fields: {}, raw: line };
  if (node) record.node = node;
  parseFields(body, record, interpreted);
  return record;
}

/** Splits `k=v k2="v 2" msg='…'` into fields, decoding hex-encoded values. */
function parseFields(body: string, record: AuditRecord, interpreted: boolean): void {
  const fields = record.fields;
  const text: string[] = [];
  let lastKey: string | undefined;
  let lastTarget: Record<string, string> = fields;
  let i = 0;
  const n = body.length;
  while (i < n) {
    while (i < n && body.charCodeAt(i) === 32) i++;
    if (i >= n) break;
    let end = body.indexOf(' ', i);
    if (end < 0) end = n;
    const eq = body.indexOf('=', i);
    if (eq < 0 || eq > end || eq === i) {
      // A word without `=` continues an unquoted value that holds spaces (`op=adding group to /etc/group` in
      // user-space messages, any value in interpreted output); before the first key it is free text.
      const word = body.slice(i, end);
      if (lastKey !== undefined) lastTarget[lastKey] += ` ${word}`;
      else text.push(word);
      i = end;
      continue;
    }
    const key = body.slice(i, eq);
    const q = body.charCodeAt(eq + 1);
    let value: string;
    if (q === 34 /* " */) {
      const close = body.indexOf('"', eq + 2);
      const stop = close < 0 ? n : close;
      value = body.slice(eq + 2, stop);
      i = close < 0 ? n : close + 1;
      fields[key] = value;
      lastKey = undefined;
      continue;
    }
    if (q === 39 /* ' */) {
      const close = body.lastIndexOf("'");
      const stop = close > eq + 1 ? close : n;
      const inner = body.slice(eq + 2, stop);
      i = close > eq + 1 ? close + 1 : n;
      if (key === 'msg') {
        const sub: AuditRecord = { ...record, fields: {}, raw: '' };
        parseFields(inner, sub, interpreted);
        record.msg = sub.fields;
        if (sub.text) text.push(sub.text);
      } else {
        fields[key] = inner;
      }
      lastKey = undefined;
      continue;
    }
    if (q === 123 /* { */) {
      const close = body.indexOf('}', eq + 2);
      const stop = close < 0 ? n : close;
      fields[key] = body.slice(eq + 2, stop).trim();
      i = close < 0 ? n : close + 1;
      lastKey = undefined;
      continue;
    }
    value = body.slice(eq + 1, end);
    i = end;
    if (value.endsWith(',')) value = value.slice(0, -1);
    fields[key] = decodeValue(record.type, key, value, interpreted);
    lastKey = key;
    lastTarget = fields;
  }
  if (text.length > 0) record.text = text.join(' ');
}

function decodeValue(type: string, key: string, value: string, interpreted: boolean): string {
  if (interpreted || !HEX.test(value)) return value;
  if (ENCODED_FIELDS.has(key) || (type === 'EXECVE' && EXECVE_ARG.test(key))) {
    const text = Buffer.from(value, 'hex').toString('utf8');
    // proctitle separates argv with NULs; several rule keys are joined with \x01.
    return key === 'proctitle' ? text.replace(/\0+$/, '').replace(/\0/g, ' ') : text.replace(/\x01/g, ',');
  }
  return value;
}

/** Field values auditd writes for "not set". */
export function auditValue(v: string | undefined): string | undefined {
  if (v === undefined || v === '' || v === '?' || v === '(null)' || v === '(none)' || v === 'unset') return undefined;
  return v;
}

/** auid/ses value meaning "never set" (-1 as u32). */
export const AUDIT_UNSET = '4294967295';

/** Decoded EXECVE argv from the records of one event (handles `aN_len` + `aN[i]` split arguments). */
export function execveArgs(records: AuditRecord[]): { args: string[]; missing: number[] } {
  const fields: Record<string, string> = {};
  let argc = -1;
  for (const r of records) {
    if (r.type !== 'EXECVE') continue;
    Object.assign(fields, r.fields);
    if (r.fields.argc !== undefined) argc = Number(r.fields.argc);
  }
  const args: string[] = [];
  const missing: number[] = [];
  if (argc < 0) {
    for (let i = 0; fields[`a${i}`] !== undefined; i++) args.push(fields[`a${i}`]!);
    return { args, missing };
  }
  for (let i = 0; i < argc; i++) {
    const whole = fields[`a${i}`];
    if (whole !== undefined) {
      args.push(whole);
      continue;
    }
    if (fields[`a${i}_len`] !== undefined) {
      let joined = '';
      let hexParts = '';
      let allHex = true;
      for (let j = 0; fields[`a${i}[${j}]`] !== undefined; j++) {
        const part = fields[`a${i}[${j}]`]!;
        joined += part;
        hexParts += part;
        if (!HEX.test(part)) allHex = false;
      }
      // Split arguments are hex-encoded piecewise when the argument needed encoding: decode the joined bytes so a
      // multi-byte character cut between two pieces survives.
      args.push(allHex && hexParts.length > 0 ? Buffer.from(hexParts, 'hex').toString('utf8') : joined);
      continue;
    }
    missing.push(i);
  }
  return { args, missing };
}

export interface SockAddr {
  family: string;
  ip?: string;
  port?: number;
  path?: string;
}

/** SOCKADDR `saddr`: hex struct sockaddr (raw form) or `{ fam=inet laddr=… lport=… }` (interpreted form). */
export function parseSockAddr(saddr: string | undefined): SockAddr | undefined {
  if (!saddr) return undefined;
  if (saddr.includes('=')) {
    const kv: Record<string, string> = {};
    for (const part of saddr.split(/\s+/)) {
      const eq = part.indexOf('=');
      if (eq > 0) kv[part.slice(0, eq)] = part.slice(eq + 1);
    }
    const fam = kv.saddr_fam ?? kv.fam ?? 'unknown';
    const out: SockAddr = { family: fam };
    const ip = kv.laddr ?? kv.addr;
    if (ip) out.ip = ip;
    if (kv.lport) out.port = Number(kv.lport);
    if (kv.path) out.path = kv.path;
    return out;
  }
  if (!/^[0-9A-Fa-f]+$/.test(saddr) || saddr.length < 4) return undefined;
  const b = Buffer.from(saddr, 'hex');
  const family = b.readUInt16LE(0);
  if (family === 2 && b.length >= 8) {
    return { family: 'inet', port: b.readUInt16BE(2), ip: `${b[4]}.${b[5]}.${b[6]}.${b[7]}` };
  }
  if (family === 10 && b.length >= 24) {
    const groups: string[] = [];
    for (let i = 8; i < 24; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    return { family: 'inet6', port: b.readUInt16BE(2), ip: compressIpv6(groups) };
  }
  if (family === 1) {
    const end = b.indexOf(0, 2);
    return { family: 'local', path: b.subarray(2, end < 0 ? b.length : end).toString('utf8') };
  }
  return { family: String(family) };
}

function compressIpv6(groups: string[]): string {
  // IPv4-mapped addresses read better (and match other sources) in dotted form.
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const hi = Number.parseInt(groups[6]!, 16);
    const lo = Number.parseInt(groups[7]!, 16);
    return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

// Web server logs: nginx/Apache "combined" and "common" access lines (with the optional virtual host or
// X-Forwarded-For list some formats put first), JSON access lines (log_format escape=json), nginx error.log and
// Apache error_log lines.
import { MONTHS, timezoneOffsetMinutes } from '../ocsf/mappers/common.ts';
import { parseJsonObject } from './json.ts';

export interface AccessRecord {
  kind: 'access';
  remoteAddr?: string;
  remoteUser?: string;
  /** Leading tokens before the client address: a virtual host, or proxies (X-Forwarded-For). */
  vhost?: string;
  forwardedFor?: string[];
  time?: number;
  originalTime?: string;
  timezoneOffset?: number;
  /** The request line as logged ("GET /x HTTP/1.1", or garbage). */
  request?: string;
  method?: string;
  target?: string;
  protocol?: string;
  status?: number;
  bytes?: number;
  referrer?: string;
  userAgent?: string;
  /** JSON fields with no OCSF home, or trailing text after the combined fields. */
  extra?: Record<string, unknown>;
  form: 'combined' | 'common' | 'json';
}

export interface ErrorRecord {
  kind: 'error';
  server: 'nginx' | 'apache';
  time?: number;
  originalTime: string;
  level: string;
  pid?: number;
  message: string;
  client?: string;
  clientPort?: number;
  fields: Record<string, string>;
}

// The optional leading tokens are tried last (`??`): most lines have none, and trying a prefix first made the engine
// backtrack over every split of the address and user fields (0.93 vs 0.35 µs per line). Either way the three tokens
// before the time are the same (a prefix can only match when the line does not start with them).
const ACCESS =
  /^(?:(.*?) )??(\S+) (\S+) (\S+) \[(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] "((?:[^"\\]|\\.)*)" (\d{3}|-) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(.*)$/;
const REQUEST = /^([A-Za-z]+) (\S+)(?: (HTTP\/[\d.]+))?$/;
const NGINX_ERROR = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) \[(\w+)\] (\d+)#\d+: (?:\*\d+ )?(.*)$/;
const APACHE_ERROR =
  /^\[(\w{3} (\w{3}) (\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? (\d{4}))\] \[(?:[\w-]+:)?(\w+)\] (?:\[pid (\d+)(?::tid \d+)?\] )?(?:\[client (\S+?)(?::(\d+))?\] )?(.*)$/;

export interface WebParseOptions {
  /** Minutes east of UTC for error-log times, which carry no zone (default 0). */
  timezoneOffset: number;
}

/** Parses one line (a JSON one may come parsed already); a string explains why it is none of the known forms. */
export function parseWebLogLine(
  line: string,
  options: WebParseOptions,
  parsed?: Record<string, unknown>,
): AccessRecord | ErrorRecord | string {
  const c = line.charCodeAt(0);
  if (c === 123 /* { */) return parseJsonAccess(parsed ?? parseJsonObject(line));
  if (c >= 48 && c <= 57) {
    const e = NGINX_ERROR.exec(line);
    if (e) return nginxError(e, options);
  }
  if (c === 91 /* [ */) {
    const e = APACHE_ERROR.exec(line);
    if (e) return apacheError(e, options);
  }
  const m = ACCESS.exec(line);
  if (!m) return 'not a combined/common access line, a JSON access line or an error log line';
  const r: AccessRecord = { kind: 'access', form: m[17] !== undefined ? 'combined' : 'common' };
  const prefix = m[1]?.replace(/"/g, '').trim();
  if (prefix) {
    const parts = prefix.split(/,\s*|\s+/).filter(Boolean);
    if (parts.every((p) => /^[0-9a-fA-F:.]+$/.test(p))) r.forwardedFor = parts;
    else r.vhost = prefix;
  }
  if (m[2] !== '-') r.remoteAddr = m[2]!;
  if (m[4] !== '-') r.remoteUser = m[4]!;
  const month = MONTHS[m[6]!];
  r.originalTime = `${m[5]}/${m[6]}/${m[7]}:${m[8]}:${m[9]}:${m[10]} ${m[11]}${m[12]}${m[13]}`;
  if (month !== undefined) {
    r.timezoneOffset = timezoneOffsetMinutes(m[11]!, m[12]!, m[13]!);
    r.time =
      Date.UTC(Number(m[7]), month, Number(m[5]), Number(m[8]), Number(m[9]), Number(m[10])) -
      r.timezoneOffset * 60_000;
  }
  setRequest(r, m[14]!);
  if (m[15] !== '-') r.status = Number(m[15]);
  if (m[16] !== '-') r.bytes = Number(m[16]);
  if (m[17] !== undefined && m[17] !== '-') r.referrer = m[17];
  if (m[18] !== undefined && m[18] !== '-') r.userAgent = m[18];
  const tail = m[19]?.trim();
  if (tail) {
    // nginx's "main" format ends with "$http_x_forwarded_for".
    const xff = /^"([^"]*)"$/.exec(tail);
    if (xff) {
      if (xff[1] !== '-' && xff[1] !== '') r.forwardedFor = [...(r.forwardedFor ?? []), ...xff[1]!.split(/,\s*/)];
    } else r.extra = { trailing: tail };
  }
  return r;
}

function setRequest(r: AccessRecord, request: string): void {
  r.request = request;
  const q = REQUEST.exec(request);
  if (!q) return;
  r.method = q[1]!;
  r.target = q[2]!;
  if (q[3]) r.protocol = q[3];
}

const JSON_KEYS = {
  remoteAddr: ['remote_addr', 'client', 'clientip', 'client_ip', 'remote_ip'],
  remoteUser: ['remote_user', 'user'],
  time: ['time_iso8601', 'time_local', '@timestamp', 'timestamp', 'time'],
  request: ['request'],
  method: ['request_method', 'method'],
  target: ['request_uri', 'uri', 'path'],
  protocol: ['server_protocol', 'protocol'],
  status: ['status', 'status_code'],
  bytes: ['body_bytes_sent', 'bytes_sent', 'bytes'],
  referrer: ['http_referer', 'http_referrer', 'referer', 'referrer'],
  userAgent: ['http_user_agent', 'user_agent', 'agent'],
  forwardedFor: ['http_x_forwarded_for', 'x_forwarded_for'],
  vhost: ['host', 'server_name', 'http_host'],
} as const;

function parseJsonAccess(v: Record<string, unknown> | string): AccessRecord | string {
  if (typeof v === 'string') return v;
  const o = { ...(v as Record<string, unknown>) };
  const take = (keys: readonly string[]): string | undefined => {
    for (const k of keys) {
      const x = o[k];
      if (x === undefined) continue;
      delete o[k];
      if (x === null || x === '' || x === '-') return undefined;
      return String(x);
    }
    return undefined;
  };
  const r: AccessRecord = { kind: 'access', form: 'json' };
  const remote = take(JSON_KEYS.remoteAddr);
  if (remote) r.remoteAddr = remote;
  const user = take(JSON_KEYS.remoteUser);
  if (user) r.remoteUser = user;
  const time = take(JSON_KEYS.time);
  if (time) {
    r.originalTime = time;
    const t = /^(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(time);
    if (t && MONTHS[t[2]!] !== undefined) {
      r.timezoneOffset = timezoneOffsetMinutes(t[7]!, t[8]!, t[9]!);
      r.time =
        Date.UTC(Number(t[3]), MONTHS[t[2]!]!, Number(t[1]), Number(t[4]), Number(t[5]), Number(t[6])) -
        r.timezoneOffset * 60_000;
    } else {
      const ms = /^\d+(\.\d+)?$/.test(time) ? Number(time) * 1000 : Date.parse(time);
      if (!Number.isNaN(ms)) r.time = Math.floor(ms);
    }
  }
  const request = take(JSON_KEYS.request);
  if (request) setRequest(r, request);
  const method = take(JSON_KEYS.method);
  if (method) r.method = method;
  const target = take(JSON_KEYS.target);
  if (target) r.target = target;
  const protocol = take(JSON_KEYS.protocol);
  if (protocol) r.protocol = protocol;
  const status = take(JSON_KEYS.status);
  if (status && /^\d{3}$/.test(status)) r.status = Number(status);
  const bytes = take(JSON_KEYS.bytes);
  if (bytes && /^\d+$/.test(bytes)) r.bytes = Number(bytes);
  const referrer = take(JSON_KEYS.referrer);
  if (referrer) r.referrer = referrer;
  const ua = take(JSON_KEYS.userAgent);
  if (ua) r.userAgent = ua;
  const xff = take(JSON_KEYS.forwardedFor);
  if (xff) r.forwardedFor = xff.split(/,\s*/);
  const vhost = take(JSON_KEYS.vhost);
  if (vhost) r.vhost = vhost;
  if (r.status === undefined && r.method === undefined) return 'JSON object without a status or a request';
  if (Object.keys(o).length > 0) r.extra = o;
  return r;
}

function nginxError(m: RegExpExecArray, options: WebParseOptions): ErrorRecord {
  const time =
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) -
    options.timezoneOffset * 60_000;
  const text = m[9]!;
  const fields: Record<string, string> = {};
  // nginx appends the request context as `, client: X, server: Y, request: "…", host: "…"`.
  const ctxStart = text.search(/, client: /);
  const message = ctxStart < 0 ? text : text.slice(0, ctxStart);
  if (ctxStart >= 0) {
    for (const f of text.slice(ctxStart).matchAll(/, (\w+): ("(?:[^"\\]|\\.)*"|[^,]*)/g))
      fields[f[1]!] = f[2]!.replace(/^"|"$/g, '');
  }
  const r: ErrorRecord = {
    kind: 'error',
    server: 'nginx',
    time,
    originalTime: `${m[1]}/${m[2]}/${m[3]} ${m[4]}:${m[5]}:${m[6]}`,
    level: m[7]!,
    pid: Number(m[8]),
    message,
    fields,
  };
  if (fields.client) r.client = fields.client;
  return r;
}

function apacheError(m: RegExpExecArray, options: WebParseOptions): ErrorRecord {
  const month = MONTHS[m[2]!] ?? 0;
  const time =
    Date.UTC(
      Number(m[8]),
      month,
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
      Number((m[7] ?? '0').slice(0, 3).padEnd(3, '0')),
    ) -
    options.timezoneOffset * 60_000;
  const r: ErrorRecord = {
    kind: 'error',
    server: 'apache',
    time,
    originalTime: m[1]!,
    level: m[9]!,
    message: m[13]!,
    fields: {},
  };
  if (m[10]) r.pid = Number(m[10]);
  if (m[11]) r.client = m[11];
  if (m[12]) r.clientPort = Number(m[12]);
  return r;
}

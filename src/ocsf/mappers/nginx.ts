// Web access lines → 4002 HTTP Activity and error-log lines → 6008 Application Error, per
// ../shared/ocsf/MAPPING.md section 5 "nginx access log".
import type { AccessRecord, ErrorRecord } from '../../parsers/nginx.ts';
import { classify, Severity, Status } from '../catalog.ts';
import { addProfiles, baseMetadata, type OcsfEvent, type OcsfProduct } from '../event.ts';
import { flagProblem } from '../problems.ts';
import {
  deviceObject,
  isIpAddress,
  mapSafely,
  normaliseIp,
  Observables,
  ObservableType,
  statusFields,
} from './common.ts';

const PRODUCTS: Record<'nginx' | 'apache', OcsfProduct> = {
  nginx: { name: 'nginx', vendor_name: 'F5' },
  apache: { name: 'Apache HTTP Server', vendor_name: 'Apache Software Foundation' },
};

/** OCSF HTTP Activity activity per method (the same table as Tenzir's CIM Web → OCSF mapping). */
const METHOD_ACTIVITY: Record<string, number> = {
  CONNECT: 1,
  DELETE: 2,
  GET: 3,
  HEAD: 4,
  OPTIONS: 5,
  POST: 6,
  PUT: 7,
  TRACE: 8,
  PATCH: 9,
};

const LEVEL_SEVERITY: Record<string, number> = {
  debug: Severity.Informational,
  info: Severity.Informational,
  notice: Severity.Informational,
  warn: Severity.Low,
  error: Severity.Medium,
  crit: Severity.High,
  alert: Severity.High,
  emerg: Severity.Critical,
};

export interface WebMapOptions {
  hostname: string;
  /** Which server wrote the access log (the line does not say); default nginx. */
  server?: 'nginx' | 'apache';
  /** Time for records without one. */
  fallbackTime: number;
  onProblem?: (reason: string, detail: string) => void;
}

export function mapWebLog(record: AccessRecord | ErrorRecord, raw: string, options: WebMapOptions): OcsfEvent {
  const time = record.time ?? options.fallbackTime;
  const server = record.kind === 'error' ? record.server : (options.server ?? 'nginx');
  return mapSafely(
    () => (record.kind === 'access' ? mapAccess(record, raw, time, options) : mapError(record, raw, time, options)),
    {
      product: PRODUCTS[server],
      logName: record.kind === 'access' ? 'access.log' : 'error.log',
      raw,
      time,
      hostname: options.hostname,
    },
    options.onProblem,
  );
}

function mapAccess(r: AccessRecord, raw: string, time: number, options: WebMapOptions): OcsfEvent {
  const method = r.method?.toUpperCase();
  const knownMethod = method !== undefined && METHOD_ACTIVITY[method] !== undefined;
  const activity = knownMethod ? METHOD_ACTIVITY[method]! : 99;
  const failed = r.status !== undefined && r.status >= 400;
  const metadata = baseMetadata(PRODUCTS[options.server ?? 'nginx'], 'access.log');
  metadata.log_format = r.form;
  if (r.originalTime) metadata.original_time = r.originalTime;
  const event: OcsfEvent = {
    ...classify(
      'http_activity',
      activity,
      r.status !== undefined && r.status >= 500 ? Severity.Low : Severity.Informational,
      activity === 99 ? (method ?? 'Unparsed request') : undefined,
    ),
    ...statusFields(
      r.status === undefined ? Status.Unknown : failed ? Status.Failure : Status.Success,
      r.status !== undefined ? String(r.status) : undefined,
    ),
    time,
    metadata,
  };
  if (r.timezoneOffset !== undefined) event.timezone_offset = r.timezoneOffset;
  const obs = new Observables();
  const request: Record<string, unknown> = {};
  if (knownMethod) request.http_method = method;
  if (r.target) request.url = urlObject(r.target, method);
  if (r.protocol) request.version = r.protocol;
  if (r.userAgent) request.user_agent = r.userAgent;
  if (r.referrer) request.referrer = r.referrer;
  const xff = (r.forwardedFor ?? []).filter((ip) => isIpAddress(ip)).map(normaliseIp);
  if (xff.length > 0) request.x_forwarded_for = xff;
  // http_request is reported only with a URL or a method: a garbage request line has neither (kept in unmapped).
  if (request.url || request.http_method) event.http_request = request;
  event.http_response = { code: r.status ?? 0, ...(r.bytes !== undefined ? { length: r.bytes } : {}) };
  if (r.remoteAddr) {
    event.src_endpoint = isIpAddress(r.remoteAddr) ? { ip: normaliseIp(r.remoteAddr) } : { hostname: r.remoteAddr };
    obs.add('src_endpoint.ip', ObservableType.IpAddress, (event.src_endpoint as { ip?: string }).ip);
  }
  if (r.vhost) {
    const [host, port] = r.vhost.split(':');
    event.dst_endpoint = { hostname: host, ...(port && /^\d+$/.test(port) ? { port: Number(port) } : {}) };
    obs.add('dst_endpoint.hostname', ObservableType.Hostname, host);
  }
  if (r.remoteUser) {
    event.actor = { user: { name: r.remoteUser } };
    obs.add('actor.user.name', ObservableType.UserName, r.remoteUser);
  }
  event.device = deviceObject(options.hostname);
  addProfiles(event, 'host');
  obs.add('http_request.url.path', ObservableType.UrlString, (request.url as { path?: string } | undefined)?.path);
  obs.add('http_request.user_agent', ObservableType.UserAgent, r.userAgent);
  obs.attach(event);
  const unmapped: Record<string, unknown> = { ...(r.extra ?? {}) };
  if (!knownMethod && r.request !== undefined) unmapped.request = r.request;
  if (Object.keys(unmapped).length > 0) event.unmapped = unmapped;
  if (r.status === undefined) flagProblem(event, 'no response status logged; http_response.code set to 0');
  event.raw_data = raw;
  return event;
}

function urlObject(target: string, method: string | undefined): Record<string, unknown> {
  if (method === 'CONNECT') {
    const [host, port] = target.split(':');
    return { url_string: target, hostname: host, ...(port && /^\d+$/.test(port) ? { port: Number(port) } : {}) };
  }
  if (/^https?:\/\//i.test(target)) {
    try {
      const u = new URL(target);
      const url: Record<string, unknown> = {
        url_string: target,
        hostname: u.hostname,
        path: u.pathname,
        scheme: u.protocol.slice(0, -1),
      };
      if (u.port) url.port = Number(u.port);
      if (u.search) url.query_string = u.search.slice(1);
      return url;
    } catch {
      return { url_string: target };
    }
  }
  const q = target.indexOf('?');
  return q < 0 ? { path: target } : { path: target.slice(0, q), query_string: target.slice(q + 1) };
}

function mapError(r: ErrorRecord, raw: string, time: number, options: WebMapOptions): OcsfEvent {
  const metadata = baseMetadata(PRODUCTS[r.server], 'error.log');
  metadata.log_format = `${r.server} error log`;
  metadata.original_time = r.originalTime;
  const event: OcsfEvent = {
    ...classify('application_error', 1, LEVEL_SEVERITY[r.level.toLowerCase()] ?? Severity.Low),
    time,
    metadata,
    message: r.message,
  };
  event.device = deviceObject(options.hostname);
  addProfiles(event, 'host');
  const unmapped: Record<string, unknown> = { level: r.level, ...r.fields };
  if (r.pid !== undefined) unmapped.pid = r.pid;
  if (r.client) unmapped.client = r.client;
  if (r.clientPort !== undefined) unmapped.client_port = r.clientPort;
  event.unmapped = unmapped;
  event.raw_data = raw;
  return event;
}

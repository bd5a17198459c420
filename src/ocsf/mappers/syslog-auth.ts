// Auth log lines (sshd, PAM, sudo, su, shadow-utils) → 3002 Authentication, 3001 Account Change, 3006 Group
// Management, per ../shared/ocsf/MAPPING.md section 5 "sshd / PAM / sudo". sshd lines that name no user (timeouts,
// key-exchange failures, refused connections) are 4001 Network Activity: OCSF Authentication requires a user.
// Any other line is a Base Event that keeps the syslog fields.
import { type AuthFact, classifyAuthMessage } from '../../parsers/auth-messages.ts';
import type { SyslogRecord } from '../../parsers/syslog.ts';
import { classify, Severity, Status } from '../catalog.ts';
import { addProfiles, baseMetadata, type OcsfEvent, type OcsfProduct } from '../event.ts';
import {
  deviceObject,
  isIpAddress,
  mapSafely,
  normaliseIp,
  Observables,
  ObservableType,
  statusFields,
} from './common.ts';

const LOG_NAME = 'auth.log';
const PRODUCTS: Record<string, OcsfProduct> = {
  sshd: { name: 'OpenSSH', vendor_name: 'OpenBSD' },
  sudo: { name: 'sudo', vendor_name: 'Todd C. Miller' },
  su: { name: 'su', vendor_name: 'util-linux' },
  useradd: { name: 'shadow-utils', vendor_name: 'shadow-maint' },
  userdel: { name: 'shadow-utils', vendor_name: 'shadow-maint' },
  usermod: { name: 'shadow-utils', vendor_name: 'shadow-maint' },
  groupadd: { name: 'shadow-utils', vendor_name: 'shadow-maint' },
  groupdel: { name: 'shadow-utils', vendor_name: 'shadow-maint' },
  gpasswd: { name: 'shadow-utils', vendor_name: 'shadow-maint' },
  passwd: { name: 'shadow-utils', vendor_name: 'shadow-maint' },
  chpasswd: { name: 'shadow-utils', vendor_name: 'shadow-maint' },
};

export interface AuthLogMapOptions {
  /** Host name when the record names none. */
  hostname: string;
  /** Time for records without one (a bare sshd line from a container: the container record's time). */
  fallbackTime: number;
  onProblem?: (reason: string, detail: string) => void;
}

function productOf(app: string | undefined, fact: AuthFact | undefined): OcsfProduct {
  if (app) {
    const base = app.startsWith('sshd') ? 'sshd' : app;
    return PRODUCTS[base] ?? { name: app };
  }
  // A bare line (no syslog header) that reads like sshd is sshd's own stderr.
  return fact && (fact.kind === 'connection' || (fact.kind === 'auth' && fact.activity !== 7))
    ? PRODUCTS.sshd!
    : { name: 'unknown' };
}

/** Maps one auth log record; never throws. `fact`: the message already classified by the caller. */
export function mapAuthLog(
  record: SyslogRecord,
  raw: string,
  options: AuthLogMapOptions,
  fact: AuthFact | undefined = classifyAuthMessage(record.message),
): OcsfEvent {
  const time = record.time ?? options.fallbackTime;
  return mapSafely(
    () => map(record, fact, raw, time, options),
    {
      product: { name: record.app ?? 'syslog' },
      logName: LOG_NAME,
      raw,
      time,
      hostname: record.host ?? options.hostname,
    },
    options.onProblem,
  );
}

function map(
  record: SyslogRecord,
  fact: AuthFact | undefined,
  raw: string,
  time: number,
  options: AuthLogMapOptions,
): OcsfEvent {
  const app = record.app;
  const isSsh = app ? app.startsWith('sshd') : fact !== undefined && fact.kind !== 'account' && fact.kind !== 'group';
  const host = record.host ?? options.hostname;
  const metadata = baseMetadata(productOf(app, fact), LOG_NAME);
  metadata.log_format = record.form === 'bare' ? 'text' : record.form;
  if (record.originalTime) metadata.original_time = record.originalTime;
  const obs = new Observables();
  const unmapped: Record<string, unknown> = {};
  const syslog: Record<string, unknown> = {};
  if (app) syslog.app_name = app;
  if (record.pid !== undefined) syslog.pid = record.pid;
  if (record.facility !== undefined) syslog.facility = record.facility;
  if (record.severity !== undefined) syslog.severity = record.severity;
  if (record.msgid) syslog.msgid = record.msgid;
  if (record.structuredData) syslog.structured_data = record.structuredData;
  if (Object.keys(syslog).length > 0) unmapped.syslog = syslog;

  let event: OcsfEvent;
  if (fact?.kind === 'auth') {
    event = {
      ...classify('authentication', fact.activity, fact.ok ? Severity.Informational : Severity.Low),
      ...statusFields(fact.ok ? Status.Success : Status.Failure, undefined, fact.detail),
      time,
      metadata,
    };
    const user: Record<string, unknown> = { name: fact.user };
    if (fact.uid) user.uid = fact.uid;
    event.user = user;
    obs.add('user.name', ObservableType.UserName, fact.user);
    event.service = { name: fact.service ?? (isSsh ? 'sshd' : (app ?? 'unknown')) };
    if (fact.activity === 7) {
      event.account_switch_type_id = 1;
      event.account_switch_type = 'Substitute User';
    }
    if (fact.method) {
      event.auth_protocol_id = 99;
      event.auth_protocol = fact.method;
    }
    if (isSsh && fact.service === undefined) {
      event.is_remote = true;
      event.logon_type_id = 10;
      event.logon_type = 'Remote Interactive';
      event.dst_endpoint = { hostname: host };
    }
    const src = endpoint(fact.srcIp, fact.srcPort);
    if (src) {
      event.src_endpoint = src;
      obs.add('src_endpoint.ip', ObservableType.IpAddress, src.ip);
      obs.add('src_endpoint.hostname', ObservableType.Hostname, src.hostname);
    }
    if (fact.session) event.session = { uid: fact.session };
    else if (fact.tty) event.session = { terminal: fact.tty };
    event.actor = actorOf(record, fact.actorUser);
    if (fact.actorUser) obs.add('actor.user.name', ObservableType.UserName, fact.actorUser);
    const extra: Record<string, unknown> = {};
    if (fact.key) extra.key = fact.key;
    if (fact.invalidUser) extra.invalid_user = true;
    if (fact.pwd) extra.pwd = fact.pwd;
    if (fact.command) extra.command = fact.command;
    if (Object.keys(extra).length > 0) unmapped.auth = extra;
  } else if (fact?.kind === 'connection') {
    event = {
      ...classify('network_activity', fact.activity, fact.activity >= 3 ? Severity.Low : Severity.Informational),
      ...statusFields(fact.activity >= 3 ? Status.Failure : Status.Success, undefined, fact.detail),
      time,
      metadata,
    };
    const src = endpoint(fact.srcIp, fact.srcPort) ?? { name: fact.srcIp };
    if (fact.srcHostname && !src.hostname) src.hostname = fact.srcHostname;
    event.src_endpoint = src;
    const dst = endpoint(fact.dstIp, fact.dstPort) ?? {};
    event.dst_endpoint = { hostname: host, ...dst, svc_name: 'ssh' };
    event.connection_info = { direction_id: 1, direction: 'Inbound', protocol_name: 'tcp', protocol_num: 6 };
    event.actor = actorOf(record, undefined);
    obs.add('src_endpoint.ip', ObservableType.IpAddress, src.ip);
  } else if (fact?.kind === 'account') {
    event = {
      ...classify('account_change', fact.activity, Severity.Low),
      ...statusFields(Status.Success, undefined, fact.detail),
      time,
      metadata,
    };
    event.user = { name: fact.user, ...(fact.uid ? { uid: fact.uid } : {}) };
    event.actor = actorOf(record, undefined);
    obs.add('user.name', ObservableType.UserName, fact.user);
  } else if (fact?.kind === 'group') {
    event = {
      ...classify('group_management', fact.activity, Severity.Low),
      ...statusFields(Status.Success),
      time,
      metadata,
    };
    event.group = { name: fact.group, ...(fact.gid ? { uid: fact.gid } : {}) };
    if (fact.user) {
      event.user = { name: fact.user };
      obs.add('user.name', ObservableType.UserName, fact.user);
    }
    event.actor = actorOf(record, undefined);
  } else {
    event = {
      ...classify('base_event', 99, syslogSeverity(record.severity), 'Log'),
      time,
      metadata,
    };
  }
  event.message = record.message;
  event.device = deviceObject(host);
  addProfiles(event, 'host');
  obs.add('device.hostname', ObservableType.Hostname, host);
  if (record.timezoneOffset !== undefined) event.timezone_offset = record.timezoneOffset;
  event.raw_data = raw;
  if (Object.keys(unmapped).length > 0) event.unmapped = unmapped;
  obs.attach(event);
  return event;
}

function endpoint(address: string | undefined, port: number | undefined): Record<string, unknown> | undefined {
  if (!address) return undefined;
  const ep: Record<string, unknown> = isIpAddress(address) ? { ip: normaliseIp(address) } : { hostname: address };
  if (port !== undefined && port >= 0 && port <= 65535) ep.port = port;
  return ep;
}

function actorOf(record: SyslogRecord, actorUser: string | undefined): Record<string, unknown> {
  const actor: Record<string, unknown> = {};
  if (record.pid !== undefined) {
    actor.process = { pid: record.pid, ...(record.app ? { name: record.app } : {}) };
  }
  if (actorUser) actor.user = { name: actorUser };
  if (!actor.process && !actor.user) actor.app_name = record.app ?? 'sshd';
  return actor;
}

/** Syslog severity 0–7 → OCSF severity. */
function syslogSeverity(s: number | undefined): number {
  if (s === undefined) return Severity.Informational;
  if (s <= 2) return Severity.High;
  if (s === 3) return Severity.Medium;
  if (s === 4) return Severity.Low;
  return Severity.Informational;
}

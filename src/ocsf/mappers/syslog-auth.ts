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
  LOGON_TYPES,
  mapSafely,
  normaliseIp,
  Observables,
  ObservableType,
  statusFields,
  unknownUser,
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
  /** The story (action or session) the record belongs to: its uid becomes metadata.correlation_uid. */
  correlationUid?: string;
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
  if (options.correlationUid) metadata.correlation_uid = options.correlationUid;
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
    const step = fact.step;
    // A step of an action (PAM's authentication and session lines when the program logs its own decision) is typed
    // as the step: counting Logon / Account Switch events counts actions. Its failure is not alerted on twice.
    event = {
      ...classify(
        'authentication',
        step ? 99 : fact.activity,
        fact.ok || step ? Severity.Informational : Severity.Low,
        step,
      ),
      ...statusFields(fact.ok ? Status.Success : Status.Failure, undefined, fact.detail),
      time,
      metadata,
    };
    if (fact.user) {
      event.user = { name: fact.user, ...(fact.uid ? { uid: fact.uid } : {}) };
      obs.add('user.name', ObservableType.UserName, fact.user);
    } else event.user = unknownUser();
    const service = fact.service ?? (isSsh ? 'sshd' : (app ?? 'unknown'));
    event.service = { name: service };
    if (fact.activity === 7 && !step) {
      event.account_switch_type_id = 1;
      event.account_switch_type = 'Substitute User';
    }
    if (fact.method) {
      event.auth_protocol_id = 99;
      event.auth_protocol = fact.method;
    }
    const logon = fact.activity === 7 ? undefined : LOGON_TYPES[service];
    if (logon) {
      event.logon_type_id = logon[0];
      event.logon_type = logon[1];
      if (logon[0] === 10) {
        event.is_remote = true;
        event.dst_endpoint = { hostname: host };
      }
    }
    const src = endpoint(fact.srcIp, fact.srcPort);
    if (src) {
      event.src_endpoint = src;
      obs.add('src_endpoint.ip', ObservableType.IpAddress, src.ip);
      obs.add('src_endpoint.hostname', ObservableType.Hostname, src.hostname);
    }
    if (fact.session) event.session = { uid: fact.session };
    else if (fact.tty) event.session = { terminal: fact.tty };
    event.actor = actorOf(record, fact.actorUser, fact.actorUid);
    obs.add('actor.user.name', ObservableType.UserName, fact.actorUser);
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
    // A pre-authentication disconnect names the account tried: not an authenticated user, so not `user`.
    if (fact.user !== undefined)
      unmapped.auth = { user: fact.user, ...(fact.invalidUser ? { invalid_user: true } : {}) };
  } else if (fact?.kind === 'account') {
    const activity = fact.step ? 99 : fact.activity;
    event = {
      ...classify('account_change', activity, Severity.Low, fact.step ?? fact.name),
      ...statusFields(Status.Success, undefined, fact.detail),
      time,
      metadata,
    };
    event.user = { name: fact.user, ...(fact.uid ? { uid: fact.uid } : {}) };
    event.actor = actorOf(record, fact.actorUser);
    obs.add('user.name', ObservableType.UserName, fact.user);
    obs.add('actor.user.name', ObservableType.UserName, fact.actorUser);
  } else if (fact?.kind === 'group') {
    const activity = fact.step ? 99 : fact.activity;
    event = {
      ...classify(
        'group_management',
        activity,
        fact.step ? Severity.Informational : Severity.Low,
        fact.step ?? fact.name,
      ),
      ...statusFields(Status.Success, undefined, fact.detail),
      time,
      metadata,
    };
    event.group = { name: fact.group, ...(fact.gid ? { uid: fact.gid } : {}) };
    if (fact.user) {
      event.user = { name: fact.user };
      obs.add('user.name', ObservableType.UserName, fact.user);
    }
    event.actor = actorOf(record, fact.actorUser);
    obs.add('actor.user.name', ObservableType.UserName, fact.actorUser);
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

function actorOf(record: SyslogRecord, actorUser: string | undefined, actorUid?: string): Record<string, unknown> {
  const actor: Record<string, unknown> = {};
  if (record.pid !== undefined) {
    actor.process = { pid: record.pid, ...(record.app ? { name: record.app } : {}) };
  }
  if (actorUser || actorUid)
    actor.user = { ...(actorUser ? { name: actorUser } : {}), ...(actorUid ? { uid: actorUid } : {}) };
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

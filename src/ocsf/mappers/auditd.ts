// One Linux audit event (all records sharing `msg=audit(TIME:SERIAL)`) → one OCSF event, per
// ../shared/ocsf/MAPPING.md section 5 "Linux auditd": execve → 1007 Launch, watched files → 1001, connect/accept
// → 4001, USER_*/CRED_* → 3002, account and group management → 3001/3006, ANOM_*/AVC → 2004, CONFIG_CHANGE and
// DAEMON_* → 1008; anything else → Base Event with every record under `unmapped.audit.records`.
import type { ContainerRef } from '../../core/envelope.ts';
import {
  AUDIT_UNSET,
  type AuditRecord,
  auditValue,
  execveArgs,
  parseSockAddr,
  type SockAddr,
} from '../../parsers/auditd.ts';
import { errnoName, syscallName } from '../../parsers/syscalls.ts';
import { commandLine } from '../../policy/command-line.ts';
import { classify, type OcsfClassName, Severity, Status } from '../catalog.ts';
import { addProfiles, baseMetadata, type OcsfEvent, type OcsfProduct } from '../event.ts';
import { flagProblem } from '../problems.ts';
import {
  basename,
  deviceObject,
  fileObject,
  isIpAddress,
  mapSafely,
  normaliseIp,
  Observables,
  ObservableType,
  statusFields,
} from './common.ts';
import { containerObject } from './container.ts';

export const AUDITD_PRODUCT: OcsfProduct = { name: 'auditd', vendor_name: 'Linux Audit' };
const LOG_NAME = 'audit.log';

/** The records of one audit event, in arrival order. */
export interface AuditEvent {
  records: AuditRecord[];
  /** The lines, newline-joined, untouched. */
  raw: string;
  /** What was wrong with the group (timeout before EOE, records cut…). */
  problems?: string[];
}

/** Finds the container a host pid runs in (supplied by enrichment, src/enrich/). */
export type PidAttributor = (pid: number) => ContainerRef | undefined;

export interface AuditMapOptions {
  /** Host name reported when records carry no `node=`. */
  hostname: string;
  /** Container attribution by pid; when it returns a container it goes to process.container and device.container. */
  attributePid?: PidAttributor;
  onProblem?: (reason: string, detail: string) => void;
}

/** Record types the mapper reads into OCSF attributes; every other record is kept under `unmapped.audit.records`. */
const CONSUMED = new Set(['SYSCALL', 'EXECVE', 'CWD', 'PATH', 'PROCTITLE', 'SOCKADDR', 'OBJ_PID', 'EOE']);

const AUTH_ACTIVITY: Record<string, number> = {
  USER_AUTH: 1,
  USER_LOGIN: 1,
  USER_START: 1,
  USER_ERR: 1,
  USER_END: 2,
  USER_LOGOUT: 2,
  CRED_DISP: 2,
};
const AUTH_OTHER = new Set(['USER_ACCT', 'CRED_ACQ', 'CRED_REFR', 'LOGIN', 'USER_ROLE_CHANGE']);
const ACCOUNT_ACTIVITY: Record<string, number> = {
  ADD_USER: 1,
  DEL_USER: 6,
  USER_CHAUTHTOK: 3,
  ACCT_LOCK: 9,
  ACCT_UNLOCK: 12,
  USER_MGMT: 99,
  ROLE_ASSIGN: 7,
  ROLE_REMOVE: 8,
  ROLE_MODIFY: 99,
};
const GROUP_ACTIVITY: Record<string, number> = { ADD_GROUP: 6, DEL_GROUP: 5, GRP_MGMT: 99, GRP_CHAUTHTOK: 99 };
const EVENT_LOG_ACTIVITY: Record<string, number> = {
  DAEMON_START: 6,
  DAEMON_END: 7,
  DAEMON_ABORT: 7,
  DAEMON_ROTATE: 5,
  DAEMON_RESUME: 6,
  DAEMON_CONFIG: 99,
  DAEMON_RECONFIG: 99,
  CONFIG_CHANGE: 99,
};
const FINDING_SEVERITY: Record<string, number> = {
  ANOM_ABEND: Severity.Low,
  ANOM_PROMISCUOUS: Severity.Medium,
  ANOM_LOGIN_FAILURES: Severity.Medium,
  ANOM_LOGIN_TIME: Severity.Medium,
  ANOM_LOGIN_SESSIONS: Severity.Medium,
  ANOM_LOGIN_LOCATION: Severity.Medium,
  ANOM_EXEC: Severity.Medium,
  ANOM_MK_EXEC: Severity.Medium,
  ANOM_ACCESS_FS: Severity.Medium,
  ANOM_LINK: Severity.Medium,
  ANOM_CREAT: Severity.Medium,
  ANOM_MOD_ACCT: Severity.Medium,
  ANOM_ROOT_TRANS: Severity.High,
  AVC: Severity.Medium,
  USER_AVC: Severity.Medium,
  SELINUX_ERR: Severity.Medium,
  APPARMOR_DENIED: Severity.Medium,
};

const EXEC = new Set(['execve', 'execveat']);
const KILL = new Set(['kill', 'tkill', 'tgkill']);
const SETID = new Set(['setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid']);
const FILE_ACTIVITY: Record<string, number> = {
  creat: 1,
  mkdir: 1,
  mkdirat: 1,
  link: 1,
  linkat: 1,
  symlink: 1,
  symlinkat: 1,
  open: 14,
  openat: 14,
  openat2: 14,
  write: 3,
  pwrite64: 3,
  truncate: 3,
  ftruncate: 3,
  fallocate: 3,
  unlink: 4,
  unlinkat: 4,
  rmdir: 4,
  rename: 5,
  renameat: 5,
  renameat2: 5,
  setxattr: 6,
  lsetxattr: 6,
  fsetxattr: 6,
  removexattr: 6,
  lremovexattr: 6,
  fremovexattr: 6,
  chmod: 7,
  fchmod: 7,
  fchmodat: 7,
  chown: 7,
  fchown: 7,
  lchown: 7,
  fchownat: 7,
  mount: 12,
  umount2: 13,
};

/** Maps one audit event; never throws (a record nobody foresaw becomes a flagged Base Event). */
export function mapAuditEvent(event: AuditEvent, options: AuditMapOptions): OcsfEvent {
  const first = event.records[0];
  return mapSafely(
    () => new AuditEventMapper(event, options).map(),
    {
      product: AUDITD_PRODUCT,
      logName: LOG_NAME,
      raw: event.raw,
      time: first?.time ?? Date.now(),
      hostname: first?.node ?? options.hostname,
    },
    options.onProblem,
  );
}

type Fields = Record<string, string>;

class AuditEventMapper {
  private readonly records: AuditRecord[];
  private readonly head: AuditRecord;
  private readonly syscall: AuditRecord | undefined;
  private readonly observables = new Observables();
  private readonly profiles = new Set<string>();
  private readonly problems: string[];
  private container: ContainerRef | undefined;

  constructor(
    private readonly event: AuditEvent,
    private readonly options: AuditMapOptions,
  ) {
    this.records = event.records;
    if (this.records.length === 0) throw new Error('audit event without records');
    this.head = this.records[0]!;
    this.syscall = this.records.find((r) => r.type === 'SYSCALL');
    this.problems = [...(event.problems ?? [])];
  }

  map(): OcsfEvent {
    const types = new Set(this.records.map((r) => r.type));
    const findingType = this.records.find((r) => r.type.startsWith('ANOM_') || FINDING_SEVERITY[r.type] !== undefined);
    if (findingType) return this.finding(findingType);
    const s = this.syscall;
    if (s) {
      const name = syscallName(s.fields.arch, s.fields.syscall);
      if ((name && EXEC.has(name)) || types.has('EXECVE')) return this.processLaunch(s);
      if (name && KILL.has(name)) return this.processTarget(s, 2);
      if (name === 'ptrace') return this.processTarget(s, 3);
      if (name && SETID.has(name)) return this.processActivity(s, 5);
      const sock = parseSockAddr(this.record('SOCKADDR')?.fields.saddr);
      if (name && (name === 'connect' || name.startsWith('accept') || name === 'bind' || name === 'listen')) {
        const net = this.network(s, name, sock);
        if (net) return net;
      }
      const fileActivity = this.fileActivityOf(name);
      if (fileActivity !== undefined) return this.fileEvent(s, fileActivity);
      if (EVENT_LOG_ACTIVITY[this.head.type] !== undefined || types.has('CONFIG_CHANGE'))
        return this.eventLog(this.record('CONFIG_CHANGE') ?? this.head);
      return this.processActivity(s, 99, name ?? `syscall ${s.fields.syscall ?? '?'}`);
    }
    const h = this.head;
    if (h.type === 'USER_CMD') return this.userCommand(h);
    if (AUTH_ACTIVITY[h.type] !== undefined || AUTH_OTHER.has(h.type)) return this.authentication(h);
    if (ACCOUNT_ACTIVITY[h.type] !== undefined) return this.accountChange(h);
    if (GROUP_ACTIVITY[h.type] !== undefined) return this.groupChange(h);
    if (EVENT_LOG_ACTIVITY[h.type] !== undefined) return this.eventLog(h);
    if (types.has('EXECVE')) {
      this.problems.push('SYSCALL record missing: the process of this execve is unknown');
      this.options.onProblem?.('audit_record_missing', `audit(${h.stamp}): EXECVE without SYSCALL`);
    }
    return this.other();
  }

  // ---- classes ----

  private processLaunch(s: AuditRecord): OcsfEvent {
    const process = this.processOf(s.fields, true);
    const { args, missing } = execveArgs(this.records);
    if (missing.length > 0) {
      this.problems.push(`EXECVE arguments missing: a${missing.join(', a')}`);
      this.options.onProblem?.('audit_record_missing', `audit(${s.stamp}): EXECVE arguments missing`);
    }
    const proctitle = this.record('PROCTITLE')?.fields.proctitle;
    // PROCTITLE only as a fallback: the kernel cuts it at 128 bytes.
    const cmdLine = args.length > 0 ? commandLine(args) : proctitle;
    if (cmdLine) process.cmd_line = cmdLine;
    const cwd = this.record('CWD')?.fields.cwd;
    if (cwd) process.working_directory = cwd;
    if (!process.file) {
      const path0 = this.pathItems()[0]?.fields.name;
      if (auditValue(path0)) process.file = fileObject(this.absolute(path0!));
    }
    const event = this.build('process_activity', 1, Severity.Informational, this.syscallStatus(s));
    event.launch_type_id = 3;
    event.launch_type = 'Exec';
    event.process = process;
    event.actor = this.actor(s.fields, { pid: int(s.fields.ppid) });
    event.device = this.device(true);
    this.observeProcess('process', process);
    return this.finish(event);
  }

  /** kill/ptrace: the target (OBJ_PID, else the pid argument) is `process`, the caller `actor.process`. */
  private processTarget(s: AuditRecord, activity: number): OcsfEvent {
    const obj = this.record('OBJ_PID')?.fields;
    const targetPid = obj?.opid !== undefined ? int(obj.opid) : hexInt(s.fields.a0);
    const target: Record<string, unknown> = {};
    if (targetPid !== undefined && targetPid > 0) target.pid = targetPid;
    else target.uid = 'unknown';
    if (auditValue(obj?.ocomm)) target.name = obj!.ocomm;
    if (auditValue(obj?.ouid)) target.user = idUser(obj!.ouid!);
    const caller = this.processOf(s.fields, false);
    const event = this.build('process_activity', activity, Severity.Informational, this.syscallStatus(s));
    event.process = target;
    event.actor = this.actor(s.fields, caller);
    event.device = this.device(false);
    this.observeProcess('actor.process', caller);
    return this.finish(event);
  }

  private processActivity(s: AuditRecord, activity: number, name?: string): OcsfEvent {
    const process = this.processOf(s.fields, true);
    const event = this.build('process_activity', activity, Severity.Informational, this.syscallStatus(s), name);
    event.process = process;
    event.actor = this.actor(s.fields, { pid: int(s.fields.ppid) });
    event.device = this.device(true);
    this.observeProcess('process', process);
    return this.finish(event);
  }

  private network(s: AuditRecord, name: string, sock: SockAddr | undefined): OcsfEvent | undefined {
    const endpoint: Record<string, unknown> = {};
    if (sock?.ip && isIpAddress(sock.ip)) endpoint.ip = normaliseIp(sock.ip);
    if (sock?.port !== undefined && sock.ip) endpoint.port = sock.port;
    if (sock?.path) endpoint.name = sock.path;
    if (Object.keys(endpoint).length === 0) return undefined;
    const inbound = name.startsWith('accept');
    const activity = name === 'listen' ? 7 : name === 'bind' ? 99 : 1;
    const event = this.build(
      'network_activity',
      activity,
      Severity.Informational,
      this.syscallStatus(s),
      name === 'bind' ? 'Bind' : undefined,
    );
    const side = inbound ? 'src_endpoint' : name === 'connect' ? 'dst_endpoint' : 'src_endpoint';
    event[side] = endpoint;
    const direction = name === 'connect' ? 2 : inbound ? 1 : 0;
    const info: Record<string, unknown> = {
      direction_id: direction,
      direction: ['Unknown', 'Inbound', 'Outbound'][direction],
    };
    if (sock?.family === 'inet') info.protocol_ver_id = 4;
    if (sock?.family === 'inet6') info.protocol_ver_id = 6;
    if (sock?.family === 'local') info.protocol_name = 'unix';
    event.connection_info = info;
    const process = this.processOf(s.fields, true);
    event.actor = this.actor(s.fields, process);
    event.device = this.device(true);
    this.profiles.add('host');
    this.observables.add(`${side}.ip`, ObservableType.IpAddress, endpoint.ip);
    this.observables.add(`${side}.port`, ObservableType.Port, endpoint.port);
    this.observeProcess('actor.process', process);
    return this.finish(event);
  }

  private fileActivityOf(name: string | undefined): number | undefined {
    const items = this.pathItems();
    if (items.length === 0) return undefined;
    const known = name ? FILE_ACTIVITY[name] : undefined;
    const created = items.some((p) => p.fields.nametype === 'CREATE');
    const deleted = items.some((p) => p.fields.nametype === 'DELETE');
    if (known === 14 && created) return 1;
    if (known !== undefined) return known;
    if (created && deleted) return 5;
    if (created) return 1;
    if (deleted) return 4;
    return undefined;
  }

  private fileEvent(s: AuditRecord, activity: number): OcsfEvent {
    const items = this.pathItems().filter((p) => p.fields.nametype !== 'PARENT');
    const all = items.length > 0 ? items : this.pathItems();
    let target = all.at(-1)!;
    let result: AuditRecord | undefined;
    if (activity === 5) {
      target = all.find((p) => p.fields.nametype === 'DELETE') ?? all[0]!;
      result = all.find((p) => p.fields.nametype === 'CREATE');
    } else if (activity === 1) {
      target = all.find((p) => p.fields.nametype === 'CREATE') ?? target;
    } else if (activity === 4) {
      target = all.find((p) => p.fields.nametype === 'DELETE') ?? target;
    }
    const event = this.build('file_activity', activity, Severity.Informational, this.syscallStatus(s));
    event.file = this.fileFromPath(target);
    if (result) event.file_result = this.fileFromPath(result);
    const process = this.processOf(s.fields, true);
    event.actor = this.actor(s.fields, process);
    event.device = this.device(true);
    this.observables.add('file.path', ObservableType.FilePath, (event.file as { path?: string }).path);
    this.observeProcess('actor.process', process);
    return this.finish(event);
  }

  private authentication(r: AuditRecord): OcsfEvent {
    const m = r.msg ?? r.fields;
    const activity = AUTH_ACTIVITY[r.type] ?? 99;
    const ok = resultOk(m.res ?? r.fields.res);
    const failed = ok === false || r.type === 'USER_ERR';
    const event = this.build(
      'authentication',
      activity,
      failed ? Severity.Low : Severity.Informational,
      statusFields(ok === undefined ? Status.Unknown : failed ? Status.Failure : Status.Success, m.res, m.op),
      activity === 99 ? r.type : undefined,
    );
    const user = this.userFromMessage(m, r.fields) ?? { uid: auditValue(r.fields.auid) ?? r.fields.uid ?? 'unknown' };
    event.user = user;
    const exe = auditValue(m.exe);
    event.service = { name: exe ? basename(exe) : 'unknown' };
    const src = this.srcEndpoint(m);
    if (src) event.src_endpoint = src;
    const terminal = auditValue(m.terminal);
    if (terminal) event.is_remote = terminal === 'ssh' || src !== undefined;
    const ses = auditValue(r.fields.ses);
    if (ses && ses !== AUDIT_UNSET) event.session = { uid: ses, ...(terminal ? { terminal } : {}) };
    event.actor = this.actorOfUserMessage(r, m);
    event.device = this.device(false);
    this.profiles.add('host');
    this.observables.add('user.name', ObservableType.UserName, user.name);
    return this.finish(event);
  }

  private accountChange(r: AuditRecord): OcsfEvent {
    const m = r.msg ?? r.fields;
    const user = this.userFromMessage(m, r.fields);
    if (!user) return this.other('no user named in the record');
    const event = this.userManagement('account_change', ACCOUNT_ACTIVITY[r.type]!, r, m);
    event.user = user;
    this.observables.add('user.name', ObservableType.UserName, user.name);
    return this.finish(event);
  }

  private groupChange(r: AuditRecord): OcsfEvent {
    const m = r.msg ?? r.fields;
    const group: Record<string, string> = {};
    const name = auditValue(m.grp) ?? auditValue(m.acct);
    if (name) group.name = name;
    const id = auditValue(m.id) ?? auditValue(m.gid);
    if (id) group.uid = id;
    if (!group.name && !group.uid) return this.other('no group named in the record');
    const event = this.userManagement('group_management', GROUP_ACTIVITY[r.type]!, r, m);
    event.group = group;
    return this.finish(event);
  }

  /** What account and group management records share: result, operation, acting process, source address. */
  private userManagement(cls: OcsfClassName, activity: number, r: AuditRecord, m: Fields): OcsfEvent {
    const event = this.build(
      cls,
      activity,
      Severity.Low,
      statusFields(resultStatus(m.res), m.res, m.op),
      activity === 99 ? (auditValue(m.op) ?? r.type) : undefined,
    );
    event.actor = this.actorOfUserMessage(r, m);
    const src = this.srcEndpoint(m);
    if (src) event.src_endpoint = src;
    event.device = this.device(false);
    this.profiles.add('host');
    return event;
  }

  private eventLog(r: AuditRecord): OcsfEvent {
    const f = { ...r.fields, ...(r.msg ?? {}) };
    let activity = EVENT_LOG_ACTIVITY[r.type] ?? 99;
    let severity: number = Severity.Informational;
    const op = auditValue(f.op);
    if (r.type === 'CONFIG_CHANGE') {
      if (f.audit_enabled === '0') {
        activity = 10;
        severity = Severity.High;
      } else if (f.audit_enabled === '1' || f.audit_enabled === '2') activity = 9;
      else if (op === 'remove_rule' || op === 'remove-rule') severity = Severity.Medium;
    }
    if (r.type === 'DAEMON_ABORT') severity = Severity.Medium;
    const event = this.build(
      'event_log_activity',
      activity,
      severity,
      statusFields(resultStatus(f.res), f.res, op),
      activity === 99 ? (op ?? r.type) : undefined,
    );
    event.log_name = 'audit';
    event.log_provider = 'auditd';
    event.log_type_id = 1;
    event.log_type = 'OS';
    if (r.text) event.message = r.text.replace(/,$/, '');
    const s = this.syscall;
    const actorFields = s ? s.fields : r.fields;
    const pid = int(actorFields.pid);
    event.actor = this.actor(actorFields, pid !== undefined ? this.processOf(actorFields, false) : undefined);
    event.device = this.device(false);
    return this.finish(event);
  }

  private finding(r: AuditRecord): OcsfEvent {
    const severity = FINDING_SEVERITY[r.type] ?? Severity.Medium;
    const event = this.build('detection_finding', 1, severity);
    event.status_id = 1;
    event.status = 'New';
    event.is_alert = severity >= Severity.Medium;
    const f = { ...r.fields, ...(r.msg ?? {}) };
    const detail = r.text ?? auditValue(f.op) ?? auditValue(f.reason);
    event.finding_info = {
      uid: `${this.head.node ?? this.options.hostname}:audit:${this.head.stamp}`,
      title: detail ? `${r.type}: ${detail}` : r.type,
      analytic: { name: r.type, type_id: 1, type: 'Rule' },
      types: ['auditd'],
      product: AUDITD_PRODUCT,
    };
    const source = this.syscall?.fields ?? f;
    const evidence: Record<string, unknown> = {};
    if (int(source.pid) !== undefined) {
      const process = this.processOf(source, true);
      evidence.process = process;
      this.observeProcess('evidences[0].process', process);
    }
    const path = this.pathItems().find((p) => p.fields.nametype !== 'PARENT');
    if (path && auditValue(path.fields.name)) evidence.file = this.fileFromPath(path);
    if (Object.keys(evidence).length > 0) event.evidences = [evidence];
    event.device = this.device(true);
    event.message = (event.finding_info as { title: string }).title;
    return this.finish(event);
  }

  private userCommand(r: AuditRecord): OcsfEvent {
    const m = r.msg ?? r.fields;
    const process: Record<string, unknown> = {};
    const pid = int(r.fields.pid);
    if (pid !== undefined) process.pid = pid;
    else process.uid = 'unknown';
    const cmd = auditValue(m.cmd);
    if (cmd) process.cmd_line = cmd;
    const cwd = auditValue(m.cwd);
    if (cwd) process.working_directory = cwd;
    const event = this.build('process_activity', 1, Severity.Informational, statusFields(resultStatus(m.res), m.res));
    event.process = process;
    event.actor = this.actorOfUserMessage(r, m);
    event.device = this.device(false);
    this.observables.add('process.cmd_line', ObservableType.CommandLine, cmd);
    return this.finish(event);
  }

  /** Any other event: Base Event, every record kept under `unmapped.audit.records`. */
  private other(problem?: string): OcsfEvent {
    if (problem) this.problems.push(problem);
    const event = this.build('base_event', 99, Severity.Informational, undefined, `audit ${this.head.type}`);
    const text = this.head.text ?? auditValue((this.head.msg ?? this.head.fields).op);
    event.message = text ? `${this.head.type}: ${text}` : this.head.type;
    event.device = this.device(false);
    this.profiles.add('host');
    return this.finish(event, true);
  }

  // ---- pieces ----

  private build(
    cls: OcsfClassName,
    activity: number,
    severity: number,
    status?: Record<string, unknown>,
    activityName?: string,
  ): OcsfEvent {
    const h = this.head;
    const metadata = baseMetadata(AUDITD_PRODUCT, LOG_NAME);
    metadata.log_provider = 'auditd';
    metadata.log_format = h.interpreted ? 'ausearch -i' : 'raw';
    metadata.original_time = `audit(${h.stamp})`;
    if (!h.interpreted) {
      metadata.original_event_uid = h.stamp;
      metadata.correlation_uid = h.stamp;
    }
    const keys = this.ruleKeys();
    if (keys.length > 0) metadata.labels = keys;
    return {
      ...classify(cls, activity, severity, activityName),
      ...(status ?? {}),
      time: h.time,
      metadata,
      raw_data: this.event.raw,
    };
  }

  private finish(event: OcsfEvent, allRecords = false): OcsfEvent {
    const audit: Record<string, unknown> = { type: this.head.type };
    const s = this.syscall?.fields;
    if (s) {
      if (s.arch) audit.arch = s.arch;
      if (s.syscall) {
        audit.syscall = s.syscall;
        const name = syscallName(s.arch, s.syscall);
        if (name && name !== s.syscall) audit.syscall_name = name;
      }
      if (s.items) audit.items = Number(s.items);
      if (auditValue(s.subj)) audit.subj = s.subj;
      for (const k of ['a0', 'a1', 'a2', 'a3', 'suid', 'fsuid', 'sgid', 'fsgid'])
        if (s[k] !== undefined) audit[k] = s[k];
    }
    const keys = this.ruleKeys();
    if (keys.length > 0) audit.key = keys.length === 1 ? keys[0] : keys;
    // User-space messages (no SYSCALL) keep their whole record: op, grantors, subj… have no OCSF home.
    const keepAll = allRecords || this.syscall === undefined;
    const kept = this.records.filter((r) => keepAll || !CONSUMED.has(r.type));
    if (kept.length > 0)
      audit.records = kept.map((r) => ({
        type: r.type,
        ...r.fields,
        ...(r.msg ? { msg: r.msg } : {}),
        ...(r.text ? { text: r.text } : {}),
      }));
    event.unmapped = { ...(event.unmapped ?? {}), audit };
    if (this.profiles.size > 0) addProfiles(event, ...this.profiles);
    this.observables.add(
      'device.hostname',
      ObservableType.Hostname,
      (event.device as { hostname?: string } | undefined)?.hostname,
    );
    this.observables.attach(event);
    for (const p of this.problems) flagProblem(event, p);
    return event;
  }

  private record(type: string): AuditRecord | undefined {
    return this.records.find((r) => r.type === type);
  }

  private pathItems(): AuditRecord[] {
    return this.records.filter((r) => r.type === 'PATH');
  }

  private ruleKeys(): string[] {
    const key = auditValue(this.syscall?.fields.key ?? this.head.fields.key);
    return key ? key.split(',').filter(Boolean) : [];
  }

  private absolute(path: string): string {
    if (path.startsWith('/')) return path;
    const cwd = this.record('CWD')?.fields.cwd;
    return cwd ? `${cwd.replace(/\/$/, '')}/${path.replace(/^\.\//, '')}` : path;
  }

  private fileFromPath(r: AuditRecord): Record<string, unknown> {
    const name = auditValue(r.fields.name) ?? `inode:${r.fields.inode ?? '?'}`;
    const file = fileObject(this.absolute(name), fileType(r.fields.mode));
    if (r.fields.ouid !== undefined) file.owner = idUser(r.fields.ouid);
    if (r.fields.inode !== undefined) file.uid = r.fields.inode;
    return file;
  }

  /** The process a SYSCALL (or user message) describes, with identities and container attribution. */
  private processOf(f: Fields, withContainer: boolean): Record<string, unknown> {
    const process: Record<string, unknown> = {};
    const pid = int(f.pid);
    if (pid !== undefined) process.pid = pid;
    else process.uid = 'unknown';
    const comm = auditValue(f.comm);
    if (comm) process.name = comm;
    const exe = auditValue(f.exe);
    if (exe) process.file = fileObject(exe);
    const ppid = int(f.ppid);
    if (ppid !== undefined) process.parent_process = { pid: ppid };
    if (auditValue(f.uid)) process.user = idUser(f.uid!);
    const auid = f.auid;
    if (auid !== undefined && auid !== AUDIT_UNSET && /^\d+$/.test(auid)) {
      process.auid = Number(auid);
      this.profiles.add('linux/linux_users');
    }
    if (f.euid !== undefined && /^\d+$/.test(f.euid)) {
      process.euid = Number(f.euid);
      this.profiles.add('linux/linux_users');
    }
    if (f.egid !== undefined && /^\d+$/.test(f.egid)) {
      process.egid = Number(f.egid);
      this.profiles.add('linux/linux_users');
    }
    if (auditValue(f.gid)) {
      process.group = /^\d+$/.test(f.gid!) ? { uid: f.gid } : { name: f.gid };
      this.profiles.add('linux/linux_users');
    }
    const ses = auditValue(f.ses);
    const tty = auditValue(f.tty);
    if ((ses && ses !== AUDIT_UNSET) || tty) {
      const session: Record<string, unknown> = {};
      if (ses && ses !== AUDIT_UNSET) session.uid = ses;
      if (tty) session.terminal = tty;
      process.session = session;
    }
    if (withContainer && pid !== undefined && this.options.attributePid) {
      const ref = this.options.attributePid(pid);
      const container = ref ? containerObject(ref) : undefined;
      if (container) {
        this.container = ref;
        process.container = container;
        this.profiles.add('container');
      }
    }
    return process;
  }

  /** `actor`: the login user (auid) when set, else the process user; plus the acting process. */
  private actor(f: Fields, process: Record<string, unknown> | undefined): Record<string, unknown> {
    const actor: Record<string, unknown> = {};
    const auid = f.auid;
    if (auid !== undefined && auid !== AUDIT_UNSET && auditValue(auid)) actor.user = idUser(auid);
    else if (auditValue(f.uid)) actor.user = idUser(f.uid!);
    if (process && (process.pid !== undefined || process.uid !== undefined)) actor.process = process;
    if (!actor.user && !actor.process) actor.app_name = 'unknown';
    const name = (actor.user as { name?: string } | undefined)?.name;
    this.observables.add('actor.user.name', ObservableType.UserName, name);
    return actor;
  }

  private actorOfUserMessage(r: AuditRecord, m: Fields): Record<string, unknown> {
    const f = r.fields;
    const process: Record<string, unknown> = {};
    const pid = int(f.pid);
    if (pid !== undefined) process.pid = pid;
    const exe = auditValue(m.exe) ?? auditValue(f.exe);
    if (exe) process.file = fileObject(exe);
    const actor = this.actor(f, pid !== undefined ? process : undefined);
    const ses = auditValue(f.ses);
    const terminal = auditValue(m.terminal);
    if ((ses && ses !== AUDIT_UNSET) || terminal) {
      const session: Record<string, unknown> = {};
      if (ses && ses !== AUDIT_UNSET) session.uid = ses;
      if (terminal) session.terminal = terminal;
      actor.session = session;
    }
    return actor;
  }

  /** The account a user-space message is about: `acct=` (name) and/or `id=` (uid). */
  private userFromMessage(m: Fields, outer: Fields): { name?: string; uid?: string } | undefined {
    const user: { name?: string; uid?: string } = {};
    const acct = auditValue(m.acct);
    if (acct) user.name = acct;
    const id = auditValue(m.id) ?? (m !== outer ? auditValue(m.uid) : undefined);
    if (id && /^\d+$/.test(id) && id !== AUDIT_UNSET) user.uid = id;
    else if (id && !user.name && !/^\d+$/.test(id)) user.name = id;
    return user.name || user.uid ? user : undefined;
  }

  private srcEndpoint(m: Fields): Record<string, unknown> | undefined {
    const addr = auditValue(m.addr);
    const host = auditValue(m.hostname);
    const ep: Record<string, unknown> = {};
    if (isIpAddress(addr)) ep.ip = normaliseIp(addr);
    if (host && host !== addr && !isIpAddress(host)) ep.hostname = host;
    if (Object.keys(ep).length === 0) return undefined;
    this.observables.add('src_endpoint.ip', ObservableType.IpAddress, ep.ip);
    this.observables.add('src_endpoint.hostname', ObservableType.Hostname, ep.hostname);
    return ep;
  }

  private device(allowContainer: boolean): Record<string, unknown> {
    const device = deviceObject(this.head.node ?? this.options.hostname);
    if (allowContainer && this.container) {
      const c = containerObject(this.container);
      if (c) device.container = c;
    }
    return device;
  }

  private syscallStatus(s: AuditRecord): Record<string, unknown> {
    const success = s.fields.success;
    const id = success === 'yes' ? Status.Success : success === 'no' ? Status.Failure : Status.Unknown;
    return statusFields(id, s.fields.exit, id === Status.Failure ? errnoName(s.fields.exit) : undefined);
  }

  private observeProcess(path: string, process: Record<string, unknown>): void {
    this.observables.add(`${path}.name`, ObservableType.ProcessName, process.name);
    this.observables.add(`${path}.cmd_line`, ObservableType.CommandLine, process.cmd_line);
    this.observables.add(`${path}.file.path`, ObservableType.FilePath, (process.file as { path?: string })?.path);
    if (process.container)
      this.observables.add(
        `${path}.container.uid`,
        ObservableType.ResourceUid,
        (process.container as { uid?: string }).uid,
        'container uid',
      );
  }
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  return Number(v);
}

function hexInt(v: string | undefined): number | undefined {
  if (v === undefined || !/^[0-9a-f]+$/i.test(v)) return undefined;
  const n = Number.parseInt(v, 16);
  return n > 0 && n < 2 ** 31 ? n : undefined;
}

/** A user from a uid field: numbers are uids, interpreted output gives names. */
function idUser(v: string): Record<string, string> {
  return /^\d+$/.test(v) ? { uid: v } : { name: v };
}

function resultStatus(res: string | undefined): number {
  const ok = resultOk(res);
  return ok === undefined ? Status.Unknown : ok ? Status.Success : Status.Failure;
}

function resultOk(res: string | undefined): boolean | undefined {
  if (res === undefined) return undefined;
  if (res === 'success' || res === 'yes' || res === '1') return true;
  if (res === 'failed' || res === 'fail' || res === 'no' || res === '0') return false;
  return undefined;
}

/** OCSF file type_id from the PATH record's octal mode (S_IFMT bits). */
function fileType(mode: string | undefined): number {
  if (!mode) return 0;
  const m = Number.parseInt(mode.split(',')[0]!, 8);
  if (Number.isNaN(m)) {
    if (mode.startsWith('dir')) return 2;
    if (mode.startsWith('file')) return 1;
    if (mode.startsWith('link')) return 7;
    return 0;
  }
  switch (m & 0o170000) {
    case 0o100000:
      return 1;
    case 0o040000:
      return 2;
    case 0o020000:
      return 3;
    case 0o060000:
      return 4;
    case 0o140000:
      return 5;
    case 0o010000:
      return 6;
    case 0o120000:
      return 7;
    default:
      return 0;
  }
}

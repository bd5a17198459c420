// audit.log lines (raw or `ausearch -i`) → one OCSF event per audit event. Records of one event share
// `msg=audit(TIME:SERIAL)` and may interleave with other events' records; a group closes on its EOE record, on an
// ausearch `----` separator, after `groupTimeout` without EOE (single-record kernel events have none), or at flush.
// User-space messages (USER_*, ADD_USER, DAEMON_*…) are always one record and are emitted at once. Events of one
// action or login session share metadata.correlation_uid (a StoryTracker: the login session `ses` once set, else the
// process), and a LOGIN or sshd's "(invalid user)" record learns its account and source from the earlier records of
// its process.
import type { ContainerRef } from '../core/envelope.ts';
import { AUDITD_PRODUCT, mapAuditEvent, type PidAttributor } from '../ocsf/mappers/auditd.ts';
import { loginMethod } from '../ocsf/mappers/auditd-actions.ts';
import { eventUid, fallbackEvent, repairTime } from '../ocsf/mappers/common.ts';
import { AUDIT_UNSET, type AuditRecord, auditValue, parseAuditLine } from '../parsers/auditd.ts';
import type { DecodeContext, DecodedEvent, LineDecoder, LineInfo, RecordFormat } from './decoder.ts';
import { LineFlags } from './decoder.ts';
import { flaggedProblems } from './per-line.ts';
import { type Story, StoryTracker } from './stories.ts';

/** Kernel record types that belong to a multi-record event ended by EOE; any other type stands alone. */
const KERNEL_EVENT_TYPES = new Set([
  'SYSCALL',
  'EXECVE',
  'PATH',
  'CWD',
  'PROCTITLE',
  'SOCKADDR',
  'SOCKETCALL',
  'IPC',
  'IPC_SET_PERM',
  'MQ_OPEN',
  'MQ_SENDRECV',
  'MQ_NOTIFY',
  'MQ_GETSETATTR',
  'FD_PAIR',
  'OBJ_PID',
  'BPRM_FCAPS',
  'CAPSET',
  'MMAP',
  'NETFILTER_CFG',
  'CONFIG_CHANGE',
  'LOGIN',
  'AVC',
  'AVC_PATH',
  'SELINUX_ERR',
  'KERN_MODULE',
  'FANOTIFY',
  'TIME_INJOFFSET',
  'TIME_ADJNTPVAL',
  'BPF',
  'OPENAT2',
  'URINGOP',
  'ANOM_PROMISCUOUS',
  'ANOM_ABEND',
  'ANOM_LINK',
  'ANOM_CREAT',
  'SECCOMP',
  'APPARMOR_DENIED',
  'APPARMOR_ALLOWED',
  'APPARMOR_AUDIT',
  'INTEGRITY_DATA',
  'INTEGRITY_RULE',
  'EOE',
]);

export interface AuditDecoderOptions {
  /** An event without EOE is emitted this long after its first record (ms). */
  groupTimeout: number;
  /** Most events held open at once; beyond it the oldest is emitted early (flagged). */
  maxOpenEvents: number;
  attributePid?: PidAttributor;
}

export const AUDIT_DEFAULTS: AuditDecoderOptions = { groupTimeout: 2000, maxOpenEvents: 1024 };

interface OpenEvent {
  start: number;
  since: number;
  records: AuditRecord[];
  lines: string[];
  problems?: string[];
}

export class AuditDecoder implements LineDecoder {
  /** Open events by `node|stamp`; Map order = order of first records = order of start offsets. */
  private readonly open = new Map<string, OpenEvent>();
  /** Time of the last event emitted: the best time for a line that has none (or no sensible one) of its own. */
  private goodTime: number | undefined;
  private readonly stories = new StoryTracker();

  constructor(
    private readonly ctx: DecodeContext,
    private readonly options: AuditDecoderOptions = AUDIT_DEFAULTS,
  ) {}

  push(line: string, info: LineInfo, out: DecodedEvent[]): void {
    if (line.length === 0) return;
    if (line.startsWith('----')) {
      this.flush(out);
      return;
    }
    const record = parseAuditLine(line);
    if (!record || info.flags & (LineFlags.Cut | LineFlags.InvalidUtf8)) {
      this.emitBad(line, info, record === undefined, out);
      return;
    }
    const key = record.node ? `${record.node}|${record.stamp}` : record.stamp;
    let ev = this.open.get(key);
    if (!ev) {
      ev = { start: info.start, since: Date.now(), records: [], lines: [] };
      if (!KERNEL_EVENT_TYPES.has(record.type)) {
        ev.records.push(record);
        ev.lines.push(line);
        this.emit(ev, out);
        return;
      }
      this.open.set(key, ev);
      if (this.open.size > this.options.maxOpenEvents) {
        const [oldestKey, oldest] = this.open.entries().next().value as [string, OpenEvent];
        this.open.delete(oldestKey);
        oldest.problems = [...(oldest.problems ?? []), 'emitted before its EOE record: too many open audit events'];
        this.emit(oldest, out);
      }
    }
    if (info.flags & LineFlags.Unterminated)
      ev.problems = [...(ev.problems ?? []), 'record not terminated by a newline (file ended mid-line)'];
    if (record.type === 'EOE') {
      this.open.delete(key);
      if (ev.records.length === 0) return;
      ev.lines.push(line);
      this.emit(ev, out);
      return;
    }
    ev.records.push(record);
    ev.lines.push(line);
  }

  heldFrom(): number | undefined {
    for (const ev of this.open.values()) return ev.start;
    return undefined;
  }

  flushExpired(now: number, out: DecodedEvent[]): void {
    for (const [key, ev] of this.open) {
      if (now - ev.since < this.options.groupTimeout) break;
      this.open.delete(key);
      this.emit(ev, out);
    }
  }

  flush(out: DecodedEvent[]): void {
    for (const ev of this.open.values()) this.emit(ev, out);
    this.open.clear();
  }

  private emit(ev: OpenEvent, out: DecodedEvent[]): void {
    const raw = ev.lines.join('\n');
    const attribute = this.options.attributePid;
    // The container the event's process belongs to also travels on the envelope, so a docker_metadata transform
    // downstream adds its name, image and labels.
    let container: ContainerRef | undefined;
    const story = this.storyOf(ev.records);
    const event = mapAuditEvent(
      { records: ev.records, raw, ...(ev.problems ? { problems: ev.problems } : {}) },
      {
        hostname: this.ctx.hostname,
        onProblem: this.ctx.onProblem,
        ...(story ? { story } : {}),
        ...(attribute
          ? {
              attributePid: (pid: number) => {
                const ref = attribute(pid);
                container ??= ref;
                return ref;
              },
            }
          : {}),
      },
    );
    if (story) learn(story, ev.records);
    repairTime(event, this.goodTime ?? Date.now(), this.ctx.onProblem);
    this.goodTime = event.time;
    event.metadata.uid = eventUid(this.ctx.hostname, this.ctx.source, ev.start, raw);
    if (this.ctx.path) event.metadata.log_source = this.ctx.path;
    out.push(container ? { event, raw, container } : { event, raw });
  }

  /**
   * The story of an event. LOGIN gives the process's story (its PAM records so far) the login session's id; a
   * user-space record belongs to its login session's story when `ses` is set (su and sudo inside an ssh session
   * too), else to its process's; a kernel event to its login session's, or to none (its own serial).
   */
  private storyOf(records: AuditRecord[]): Story | undefined {
    const head = records[0]!;
    const node = head.node ?? this.ctx.hostname;
    const login = records.find((r) => r.type === 'LOGIN');
    const f = (login ?? records.find((r) => r.type === 'SYSCALL') ?? head).fields;
    const pid = auditValue(f.pid);
    const ses = auditValue(f.ses);
    const pidKey = pid ? `p|${node}|${pid}` : undefined;
    const sesKey = ses && ses !== AUDIT_UNSET ? `s|${node}|${ses}` : undefined;
    const time = head.time;
    const uid = (key: string) => `${node}:${key === sesKey ? `ses${ses}` : pid}:${time}:${head.serial}`;
    if (login) {
      // A kernel record: without EOE records (auditd 3 writes none) it is emitted after the process's later PAM
      // records, whose USER_START already tied the session to the process's story.
      const story =
        (sesKey && this.stories.find(sesKey, time)) ||
        (pidKey && this.stories.find(pidKey, time)) ||
        this.stories.start((pidKey ?? sesKey)!, uid((pidKey ?? sesKey)!), time);
      if (sesKey) this.stories.bind(sesKey, story, time);
      story.sessionOpen = true;
      return story;
    }
    if (KERNEL_EVENT_TYPES.has(head.type)) {
      if (!sesKey) return undefined;
      const story = this.stories.find(sesKey, time) ?? this.stories.start(sesKey, uid(sesKey), time);
      this.stories.bind(sesKey, story, time);
      return story;
    }
    if (!pidKey && !sesKey) return undefined;
    let story = sesKey ? this.stories.find(sesKey, time) : undefined;
    if (!story && pidKey) {
      story = this.stories.find(pidKey, time);
      // A process whose session is open does not authenticate again: that is a new process with a reused pid.
      if (story?.sessionOpen && !sesKey && OPENING_RECORDS.has(head.type)) story = undefined;
    }
    story ??= this.stories.start((sesKey ?? pidKey)!, uid((sesKey ?? pidKey)!), time);
    if (pidKey) this.stories.bind(pidKey, story, time);
    if (sesKey) this.stories.bind(sesKey, story, time);
    if (head.type === 'USER_START') story.sessionOpen = true;
    if (head.type === 'CRED_DISP' && pidKey) this.stories.end(pidKey);
    return story;
  }

  private emitBad(line: string, info: LineInfo, unparsed: boolean, out: DecodedEvent[]): void {
    const flagged = flaggedProblems(info);
    const problems = flagged.map((p) => p.detail);
    if (unparsed) problems.unshift('not an audit record (expected "type=… msg=audit(TIME:SERIAL): …")');
    this.ctx.onProblem(unparsed ? 'malformed_record' : flagged[0]!.reason, problems.join('; '));
    const event = fallbackEvent({
      product: AUDITD_PRODUCT,
      logName: 'audit.log',
      raw: line,
      time: this.goodTime ?? Date.now(),
      hostname: this.ctx.hostname,
      problem: problems.join('; '),
    });
    event.metadata.uid = eventUid(this.ctx.hostname, this.ctx.source, info.start, line);
    out.push({ event, raw: line });
  }
}

/** Records that begin a PAM conversation. */
const OPENING_RECORDS = new Set(['USER_AUTH', 'USER_ACCT']);
/** sshd's `acct=` for a name that is no account: not a fact worth keeping. */
const INVALID_USER = '(invalid user)';

/** Keeps what a user-space record says about its story's account, source, method and program, for later records. */
function learn(story: Story, records: AuditRecord[]): void {
  for (const r of records) {
    if (KERNEL_EVENT_TYPES.has(r.type) || !r.msg) continue;
    const acct = auditValue(r.msg.acct);
    if (acct && acct !== INVALID_USER) story.facts.acct = acct;
    for (const k of ['addr', 'hostname', 'exe', 'terminal', 'rport']) {
      const v = auditValue(r.msg[k]);
      if (v) story.facts[k] = v;
    }
    const method = loginMethod(auditValue(r.msg.op));
    if (method) story.facts.method = method;
  }
}

export const auditdFormat: RecordFormat<Partial<AuditDecoderOptions>> = {
  name: 'auditd',
  description: 'Linux audit.log (raw lines or `ausearch -i` output); records grouped per event (serial)',
  createDecoder: (ctx, options) => new AuditDecoder(ctx, { ...AUDIT_DEFAULTS, ...options }),
};

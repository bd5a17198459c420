// audit.log lines (raw or `ausearch -i`) → one OCSF event per audit event. Records of one event share
// `msg=audit(TIME:SERIAL)` and may interleave with other events' records; a group closes on its EOE record, on an
// ausearch `----` separator, after `groupTimeout` without EOE (single-record kernel events have none), or at flush.
// User-space messages (USER_*, ADD_USER, DAEMON_*…) are always one record and are emitted at once.
import type { ContainerRef } from '../core/envelope.ts';
import { AUDITD_PRODUCT, mapAuditEvent, type PidAttributor } from '../ocsf/mappers/auditd.ts';
import { eventUid, fallbackEvent, repairTime } from '../ocsf/mappers/common.ts';
import { type AuditRecord, parseAuditLine } from '../parsers/auditd.ts';
import type { DecodeContext, DecodedEvent, LineDecoder, LineInfo, RecordFormat } from './decoder.ts';
import { LineFlags } from './decoder.ts';
import { flaggedProblems } from './per-line.ts';

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
    const event = mapAuditEvent(
      { records: ev.records, raw, ...(ev.problems ? { problems: ev.problems } : {}) },
      {
        hostname: this.ctx.hostname,
        onProblem: this.ctx.onProblem,
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
    repairTime(event, this.goodTime ?? Date.now(), this.ctx.onProblem);
    this.goodTime = event.time;
    event.metadata.uid = eventUid(this.ctx.hostname, this.ctx.source, ev.start, raw);
    if (this.ctx.path) event.metadata.log_source = this.ctx.path;
    out.push(container ? { event, raw, container } : { event, raw });
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

export const auditdFormat: RecordFormat<Partial<AuditDecoderOptions>> = {
  name: 'auditd',
  description: 'Linux audit.log (raw lines or `ausearch -i` output); records grouped per event (serial)',
  createDecoder: (ctx, options) => new AuditDecoder(ctx, { ...AUDIT_DEFAULTS, ...options }),
};

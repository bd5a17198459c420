// Kubernetes audit log lines → one OCSF API Activity per request (auditID). An API server logs up to four stages
// per request; analysts want one event, so earlier stages are held and merged into ResponseComplete (or Panic).
// `stages: complete_only` drops RequestReceived instead of holding it (less memory, no start_time).
import { eventUid, fallbackEvent, repairTime } from '../ocsf/mappers/common.ts';
import { K8S_AUDIT_PRODUCT, mapK8sAuditEvent } from '../ocsf/mappers/k8s-audit.ts';
import { type K8sAuditEvent, MASK, parseK8sAuditLine } from '../parsers/k8s-audit.ts';
import type { DecodeContext, DecodedEvent, LineDecoder, LineInfo, RecordFormat } from './decoder.ts';
import { LineFlags } from './decoder.ts';
import { flaggedProblems } from './per-line.ts';

export interface K8sAuditDecoderOptions {
  /** merge: earlier stages are merged into the closing one. complete_only: RequestReceived is dropped. */
  stages: 'merge' | 'complete_only';
  /** A request whose closing stage never came is emitted alone after this long (ms). */
  holdTimeout: number;
  /** Most requests held at once; beyond it the oldest is emitted alone. */
  maxHeld: number;
  /** Called for each RequestReceived dropped on purpose (complete_only). */
  onDropped?: () => void;
}

export const K8S_AUDIT_DEFAULTS: K8sAuditDecoderOptions = { stages: 'merge', holdTimeout: 60_000, maxHeld: 10_000 };

const CLOSING = new Set(['ResponseComplete', 'Panic']);
const SENSITIVE_HINT = /"kind"\s*:\s*"(?:Secret|ConfigMap)|\/(?:secrets|configmaps)\b/;

interface Held {
  start: number;
  since: number;
  stages: K8sAuditEvent[];
  lines: string[];
}

export class K8sAuditDecoder implements LineDecoder {
  private readonly held = new Map<string, Held>();
  private lastTime: number | undefined;

  constructor(
    private readonly ctx: DecodeContext,
    private readonly options: K8sAuditDecoderOptions = K8S_AUDIT_DEFAULTS,
  ) {}

  push(line: string, info: LineInfo, out: DecodedEvent[]): void {
    if (line.trim().length === 0) return;
    const parsed = parseK8sAuditLine(line);
    if (typeof parsed === 'string' || info.flags & (LineFlags.Cut | LineFlags.InvalidUtf8)) {
      this.emitBad(line, info, typeof parsed === 'string' ? parsed : undefined, out);
      return;
    }
    const e = parsed;
    const held = this.held.get(e.auditID);
    if (CLOSING.has(e.stage)) {
      this.held.delete(e.auditID);
      this.emit(e, held?.stages, [...(held?.lines ?? []), line], held?.start ?? info.start, undefined, out);
      return;
    }
    if (this.options.stages === 'complete_only' && e.stage === 'RequestReceived') {
      this.options.onDropped?.();
      return;
    }
    if (held) {
      held.stages.push(e);
      held.lines.push(line);
      return;
    }
    this.held.set(e.auditID, { start: info.start, since: Date.now(), stages: [e], lines: [line] });
    if (this.held.size > this.options.maxHeld) {
      const [id, oldest] = this.held.entries().next().value as [string, Held];
      this.held.delete(id);
      this.emitAlone(oldest, 'emitted before its ResponseComplete stage: too many requests held', out);
    }
  }

  heldFrom(): number | undefined {
    for (const h of this.held.values()) return h.start;
    return undefined;
  }

  flushExpired(now: number, out: DecodedEvent[]): void {
    for (const [id, h] of this.held) {
      if (now - h.since < this.options.holdTimeout) break;
      this.held.delete(id);
      this.emitAlone(h, 'no ResponseComplete stage within the hold timeout', out);
    }
  }

  flush(out: DecodedEvent[]): void {
    for (const h of this.held.values()) this.emitAlone(h, 'no ResponseComplete stage before the log ended', out);
    this.held.clear();
  }

  /** A request that never completed (long-running exec/watch, or a lost line): its latest stage stands for it. */
  private emitAlone(h: Held, problem: string, out: DecodedEvent[]): void {
    const last = h.stages.at(-1)!;
    const earlier = h.stages.slice(0, -1);
    // A lone ResponseStarted (exec, attach, watch) is normal for long-running requests: not a problem.
    this.emit(last, earlier, h.lines, h.start, last.stage === 'ResponseStarted' ? undefined : problem, out);
  }

  private emit(
    e: K8sAuditEvent,
    earlier: K8sAuditEvent[] | undefined,
    lines: string[],
    start: number,
    problem: string | undefined,
    out: DecodedEvent[],
  ): void {
    const event = mapK8sAuditEvent(
      { event: e, lines, ...(earlier?.length ? { earlier } : {}), ...(problem ? { problems: [problem] } : {}) },
      { onProblem: this.ctx.onProblem },
    );
    repairTime(event, this.lastTime ?? Date.now(), this.ctx.onProblem);
    this.lastTime = event.time;
    event.metadata.uid = eventUid(this.ctx.hostname, this.ctx.source, start, e.auditID, e.stage);
    if (this.ctx.path) event.metadata.log_source = this.ctx.path;
    out.push({ event, raw: event.raw_data ?? '' });
  }

  private emitBad(line: string, info: LineInfo, parseError: string | undefined, out: DecodedEvent[]): void {
    const flagged = flaggedProblems(info);
    const problems = flagged.map((p) => p.detail);
    if (parseError) problems.unshift(`not a Kubernetes audit event: ${parseError}`);
    const reason = parseError ? 'malformed_record' : flagged[0]!.reason;
    // An unparseable line that mentions a Secret or ConfigMap cannot be masked field by field: it is not kept.
    const sensitive = SENSITIVE_HINT.test(line);
    if (sensitive) problems.push('record mentions a Secret or ConfigMap and could not be parsed: its text was masked');
    this.ctx.onProblem(reason, problems.join('; '));
    const raw = sensitive ? MASK : line;
    const event = fallbackEvent({
      product: K8S_AUDIT_PRODUCT,
      logName: 'k8s-audit',
      raw,
      time: this.lastTime ?? Date.now(),
      problem: problems.join('; '),
    });
    event.metadata.uid = eventUid(this.ctx.hostname, this.ctx.source, info.start, line);
    out.push({ event, raw });
  }
}

export const k8sAuditFormat: RecordFormat<Partial<K8sAuditDecoderOptions>> = {
  name: 'k8s-audit',
  description: 'Kubernetes API server audit log (audit.k8s.io/v1 Event JSON lines); stages merged per auditID',
  createDecoder: (ctx, options) => new K8sAuditDecoder(ctx, { ...K8S_AUDIT_DEFAULTS, ...options }),
};

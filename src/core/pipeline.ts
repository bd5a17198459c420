import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RunningContainers } from '../enrich/running-containers.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { assignEventUid } from '../ocsf/event-uid.ts';
import { DEFAULT_REDACTION, type RedactionConfig } from '../policy/redaction-config.ts';
import { Redactor } from '../policy/redactor.ts';
import { AckToken } from './ack.ts';
import type { SinkCommonConfig } from './common-config.ts';
import type {
  ComponentContext,
  ComponentKind,
  Sink,
  Source,
  SourceContext,
  Transform,
  TransformContext,
} from './component.ts';
import { EncodedEnvelope, type Envelope } from './envelope.ts';
import { SinkDriver } from './sink-driver.ts';

/** A component as the pipeline builds it: its instance plus the names of its inputs; `type` is its type name in
 * the config (a metrics label). */
export interface PipelinePlan {
  sources: Array<{ name: string; type?: string; instance: Source }>;
  transforms: Array<{ name: string; type?: string; instance: Transform; inputs: string[] }>;
  sinks: Array<{ name: string; type?: string; instance: Sink; common: SinkCommonConfig }>;
}

export interface PipelineOptions {
  dataDir: string;
  hostname: string;
  logger: Logger;
  metrics: Metrics;
  /** Secret masking applied to every event a source emits (default: the built-in rules). */
  redaction?: RedactionConfig;
  /** `readiness.stalled_after`: work waiting without progress this long makes a component degraded (default 60 s). */
  stalledAfterMs?: number;
}

type Consumer =
  | { kind: 'transform'; name: string; instance: Transform }
  | { kind: 'sink'; name: string; driver: SinkDriver };

export interface ComponentHealth {
  kind: ComponentKind;
  healthy: boolean;
  reason?: string;
}

/** Where a component's problems come from: the component itself (ctx.setHealthy), its sink driver's delivery, or the
 * pipeline watching its progress. It is healthy when none has a problem. */
type HealthCondition = 'self' | 'delivery' | 'progress';

class HealthState {
  readonly problems = new Map<HealthCondition, string>();
  /** Since when the component is degraded (for the recovery log line). */
  degradedSince: number | undefined;

  constructor(readonly kind: ComponentKind) {}

  get report(): ComponentHealth {
    if (this.problems.size === 0) return { kind: this.kind, healthy: true };
    return { kind: this.kind, healthy: false, reason: [...this.problems.values()].join('; ') };
  }
}

/** A source's emit waiting for room in a sink's queue: since when, and which sink. */
interface HeldBack {
  since: number;
  sink: string;
}

/** A component failed to start: which one, with the original error as `cause`. */
export class ComponentStartError extends Error {
  constructor(
    readonly kind: ComponentKind,
    readonly component: string,
    cause: unknown,
  ) {
    super(`${kind} "${component}": ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ComponentStartError';
  }
}

/**
 * Moves events from sources through transforms to sinks, and acknowledgements back. Knows components only through
 * the Source/Transform/Sink interfaces.
 */
export class Pipeline {
  private readonly consumers = new Map<string, Consumer[]>();
  private readonly drivers: SinkDriver[] = [];
  private readonly health = new Map<string, HealthState>();
  /** Per source: its emits held back by a full sink queue, oldest first. */
  private readonly heldBack = new Map<string, Set<HeldBack>>();
  private watchTimer: NodeJS.Timeout | undefined;
  private readonly stalledAfterMs: number;
  private started = false;
  private stopping = false;
  private readonly redaction: RedactionConfig;
  private readonly redactor: Redactor | undefined;
  private readonly runningContainers = new RunningContainers();

  constructor(
    private readonly plan: PipelinePlan,
    private readonly options: PipelineOptions,
  ) {
    this.redaction = options.redaction ?? DEFAULT_REDACTION;
    const redactor = new Redactor(this.redaction);
    this.redactor = redactor.inactive ? undefined : redactor;
    this.stalledAfterMs = options.stalledAfterMs ?? 60_000;
    for (const [kind, list] of [
      ['source', plan.sources],
      ['transform', plan.transforms],
      ['sink', plan.sinks],
    ] as const) {
      for (const c of list) {
        options.metrics.registerComponent(c.name, kind, c.type ?? '');
        this.health.set(c.name, new HealthState(kind));
      }
    }
    for (const s of plan.sinks) {
      const driver = new SinkDriver(
        s.name,
        s.instance,
        s.common,
        options.metrics,
        options.logger.child({ component: s.name }),
        join(options.dataDir, 'state', s.name),
        {
          stalledAfterMs: this.stalledAfterMs,
          onProblem: (problem) => this.setProblem(s.name, 'delivery', problem),
        },
      );
      this.drivers.push(driver);
      for (const input of s.common.inputs) this.addConsumer(input, { kind: 'sink', name: s.name, driver });
    }
    for (const t of plan.transforms) {
      for (const input of t.inputs) this.addConsumer(input, { kind: 'transform', name: t.name, instance: t.instance });
    }
  }

  private addConsumer(input: string, consumer: Consumer): void {
    const list = this.consumers.get(input) ?? [];
    list.push(consumer);
    this.consumers.set(input, list);
  }

  private context(name: string): ComponentContext {
    const { metrics, logger, hostname, dataDir } = this.options;
    metrics.componentUp.set({ component: name }, 1);
    return {
      name,
      logger: logger.child({ component: name }),
      metrics,
      hostname,
      stateDir: join(dataDir, 'state', name),
      runningContainers: this.runningContainers,
      setHealthy: (healthy, reason) => this.setProblem(name, 'self', healthy ? undefined : (reason ?? 'degraded')),
    };
  }

  /** Sets or clears one source of problems of a component; logs when the component turns degraded or healthy. */
  private setProblem(name: string, condition: HealthCondition, problem: string | undefined): void {
    const state = this.health.get(name)!;
    const wasHealthy = state.problems.size === 0;
    if (problem === undefined) state.problems.delete(condition);
    else state.problems.set(condition, problem);
    const healthy = state.problems.size === 0;
    if (healthy === wasHealthy) return;
    const { metrics, logger } = this.options;
    metrics.componentUp.set({ component: name }, healthy ? 1 : 0);
    if (healthy) {
      logger.info('component ready again', {
        component: name,
        degraded_for_ms: Date.now() - (state.degradedSince ?? Date.now()),
      });
      state.degradedSince = undefined;
    } else {
      state.degradedSince = Date.now();
      logger.warn('component degraded', { component: name, reason: state.report.reason });
    }
  }

  /** Periodic look at progress: sinks judge their own delivery, sources held back by a full queue are reported. */
  private watchProgress(): void {
    const now = Date.now();
    for (const d of this.drivers) d.checkHealth(now);
    for (const s of this.plan.sources) {
      let oldest: HeldBack | undefined;
      for (const h of this.heldBack.get(s.name) ?? []) if (!oldest || h.since < oldest.since) oldest = h;
      const held = oldest && now - oldest.since >= this.stalledAfterMs ? oldest : undefined;
      this.setProblem(
        s.name,
        'progress',
        held &&
          `held back for ${Math.round((now - held.since) / 1000)} s: sink ${held.sink} takes no more events (its queue is full)`,
      );
    }
  }

  /** Starts sinks, then transforms, then sources; a failure rejects with a ComponentStartError naming the one. */
  async start(): Promise<void> {
    const starting = async (kind: ComponentKind, name: string, start: () => Promise<void>) => {
      try {
        await start();
      } catch (err) {
        throw new ComponentStartError(kind, name, err);
      }
    };
    for (const s of this.plan.sinks) {
      const ctx = this.context(s.name);
      await starting('sink', s.name, async () => {
        await mkdir(ctx.stateDir, { recursive: true });
        await s.instance.start?.(ctx);
      });
    }
    for (const d of this.drivers) await starting('sink', d.name, () => d.start());
    for (const t of this.plan.transforms) {
      const ctx: TransformContext = {
        ...this.context(t.name),
        emit: (events, onAck) => this.emitFrom(t.name, events, onAck),
      };
      await starting('transform', t.name, async () => t.instance.start?.(ctx));
    }
    for (const s of this.plan.sources) {
      const base = this.context(s.name);
      const ctx: SourceContext = {
        ...base,
        redaction: this.redaction,
        emit: (events, onAck) => this.emitFrom(s.name, events, onAck),
      };
      await starting('source', s.name, async () => {
        await mkdir(base.stateDir, { recursive: true });
        await s.instance.start(ctx);
      });
    }
    this.watchTimer = setInterval(() => this.watchProgress(), Math.max(100, Math.min(1000, this.stalledAfterMs / 4)));
    this.watchTimer.unref();
    this.started = true;
  }

  /** Events a source (or a transform, on its own) hands over: masked, then delivered to the component's consumers. */
  private async emitFrom(source: string, events: Envelope[], onAck?: () => void): Promise<void> {
    const token = new AckToken(onAck ?? noop).retain();
    this.options.metrics.eventsEmitted.inc({ component: source }, events.length);
    // Secrets are masked before any transform or sink sees an event, whatever the config routes where.
    const redactor = this.redactor;
    for (const e of events) {
      // Events a decode worker built arrive masked, with their uid, as bytes: left as they are.
      if (e.redacted) continue;
      if (redactor)
        for (const r of redactor.redactEnvelope(e))
          this.options.metrics.secretsRedacted.inc({ component: source, rule: r.rule });
      // After masking: the uid is a hash of the record, which must not be one of a secret.
      assignEventUid(e);
    }
    try {
      if (events.length > 0) await this.deliver(source, source, events, token);
    } finally {
      token.release();
    }
  }

  private async deliver(source: string, from: string, events: Envelope[], token: AckToken): Promise<void> {
    const consumers = this.consumers.get(from) ?? [];
    for (const consumer of consumers) {
      if (consumer.kind === 'sink') {
        // Routed events go only to the sinks they name; not sending one to this sink counts as handled here.
        const routed = routedTo(consumer.name, events);
        if (routed.length === 0) continue;
        token.retain();
        const held: HeldBack = { since: Date.now(), sink: consumer.name };
        const waiting = this.heldBack.get(source) ?? new Set<HeldBack>();
        this.heldBack.set(source, waiting);
        waiting.add(held);
        try {
          // Not queued (shutting down): the token keeps this consumer's reference, so the batch is never
          // acknowledged and its source reads it again on the next start.
          await consumer.driver.enqueue(routed, token);
        } finally {
          waiting.delete(held);
        }
        continue;
      }
      token.retain();
      try {
        // Branches must not see each other's changes: a transform that shares its input with another consumer
        // works on a copy.
        const input = consumers.length > 1 ? events.map(copyEnvelope) : events;
        const output = await this.runTransform(consumer.name, consumer.instance, input);
        if (output.length > 0) await this.deliver(source, consumer.name, output, token);
      } finally {
        token.release();
      }
    }
  }

  private async runTransform(name: string, transform: Transform, events: Envelope[]): Promise<Envelope[]> {
    const { metrics, logger } = this.options;
    try {
      const out = await transform.process(events);
      metrics.eventsEmitted.inc({ component: name }, out.length);
      if (out.length < events.length)
        metrics.eventsDropped.inc({ component: name, reason: 'transform' }, events.length - out.length);
      return out;
    } catch (err) {
      // A failing transform must not lose events: they go on unchanged, flagged, and the failure is counted.
      metrics.componentErrors.inc({ component: name, reason: 'transform_error' }, events.length);
      logger.error('transform failed; passing its events on unchanged', { component: name, error: err });
      for (const e of events) e.event.unmapped = { ...e.event.unmapped, outrider_error: `transform ${name} failed` };
      return events;
    }
  }

  /** Stops reading, flushes every sink, commits source cursors. Resolves true when everything drained in time. */
  async stop(timeoutMs: number): Promise<boolean> {
    if (this.stopping) return false;
    this.stopping = true;
    const deadline = Date.now() + timeoutMs;
    const { logger } = this.options;
    clearInterval(this.watchTimer);
    // A source waiting for room in a stuck sink's queue would never see its stop: let it go first (its batch stays
    // unacknowledged and is read again on the next start).
    for (const d of this.drivers) d.closeIntake();
    await Promise.all(this.plan.sources.map((s) => s.instance.stop()));
    for (const t of this.plan.transforms) await t.instance.stop?.();
    const drained = await Promise.all(this.drivers.map((d) => d.drain(deadline)));
    await Promise.all(
      this.plan.sinks.map((s) =>
        s.instance.stop().catch((err) => logger.error('sink stop failed', { component: s.name, error: err })),
      ),
    );
    await Promise.all(this.plan.sources.map((s) => s.instance.commit?.()));
    return drained.every(Boolean);
  }

  /** Readiness: started, not stopping, and every component healthy. */
  readiness(): { ready: boolean; components: Record<string, ComponentHealth> } {
    const components = Object.fromEntries([...this.health].map(([name, state]) => [name, state.report]));
    const ready = this.started && !this.stopping && Object.values(components).every((h) => h.healthy);
    return { ready, components };
  }
}

function noop(): void {}

function copyEnvelope(e: Envelope): Envelope {
  return e instanceof EncodedEnvelope ? e.toPlain() : structuredClone(e);
}

/** The events a sink receives: unrouted ones, and those whose route names it. */
function routedTo(sink: string, events: Envelope[]): Envelope[] {
  let out: Envelope[] | undefined;
  for (let i = 0; i < events.length; i++) {
    const route = events[i]!.route;
    const wanted = route === undefined || route.includes(sink);
    if (wanted) out?.push(events[i]!);
    else out ??= events.slice(0, i);
  }
  return out ?? events;
}

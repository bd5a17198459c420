import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { DEFAULT_REDACTION, type RedactionConfig } from '../policy/redaction-config.ts';
import { Redactor } from '../policy/redactor.ts';
import { AckToken } from './ack.ts';
import type { SinkCommonConfig } from './common-config.ts';
import type { ComponentContext, ComponentKind, Sink, Source, SourceContext, Transform } from './component.ts';
import { EncodedEnvelope, type Envelope } from './envelope.ts';
import { SinkDriver } from './sink-driver.ts';

/** A component as the pipeline builds it: its instance plus the names of its inputs. */
export interface PipelinePlan {
  sources: Array<{ name: string; instance: Source }>;
  transforms: Array<{ name: string; instance: Transform; inputs: string[] }>;
  sinks: Array<{ name: string; instance: Sink; common: SinkCommonConfig }>;
}

export interface PipelineOptions {
  dataDir: string;
  hostname: string;
  logger: Logger;
  metrics: Metrics;
  /** Secret masking applied to every event a source emits (default: the built-in rules). */
  redaction?: RedactionConfig;
}

type Consumer =
  | { kind: 'transform'; name: string; instance: Transform }
  | { kind: 'sink'; name: string; driver: SinkDriver };

export interface ComponentHealth {
  kind: ComponentKind;
  healthy: boolean;
  reason?: string;
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
  private readonly health = new Map<string, ComponentHealth>();
  private started = false;
  private stopping = false;
  private readonly redaction: RedactionConfig;
  private readonly redactor: Redactor | undefined;

  constructor(
    private readonly plan: PipelinePlan,
    private readonly options: PipelineOptions,
  ) {
    this.redaction = options.redaction ?? DEFAULT_REDACTION;
    const redactor = new Redactor(this.redaction);
    this.redactor = redactor.inactive ? undefined : redactor;
    for (const s of plan.sinks) {
      const driver = new SinkDriver(
        s.name,
        s.instance,
        s.common,
        options.metrics,
        options.logger.child({ component: s.name }),
        join(options.dataDir, 'state', s.name),
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

  private context(name: string, kind: ComponentKind): ComponentContext {
    const { metrics, logger, hostname, dataDir } = this.options;
    this.health.set(name, { kind, healthy: true });
    metrics.componentUp.set({ component: name, kind }, 1);
    return {
      name,
      logger: logger.child({ component: name }),
      metrics,
      hostname,
      stateDir: join(dataDir, 'state', name),
      setHealthy: (healthy, reason) => {
        this.health.set(name, { kind, healthy, ...(reason ? { reason } : {}) });
        metrics.componentUp.set({ component: name, kind }, healthy ? 1 : 0);
      },
    };
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
      const ctx = this.context(s.name, 'sink');
      await starting('sink', s.name, async () => {
        await mkdir(ctx.stateDir, { recursive: true });
        await s.instance.start?.(ctx);
      });
    }
    for (const d of this.drivers) await starting('sink', d.name, () => d.start());
    for (const t of this.plan.transforms) {
      const ctx = this.context(t.name, 'transform');
      await starting('transform', t.name, async () => t.instance.start?.(ctx));
    }
    for (const s of this.plan.sources) {
      const base = this.context(s.name, 'source');
      const ctx: SourceContext = {
        ...base,
        redaction: this.redaction,
        emit: (events, onAck) => this.emitFromSource(s.name, events, onAck),
      };
      await starting('source', s.name, async () => {
        await mkdir(base.stateDir, { recursive: true });
        await s.instance.start(ctx);
      });
    }
    this.started = true;
  }

  private async emitFromSource(source: string, events: Envelope[], onAck?: () => void): Promise<void> {
    const token = new AckToken(onAck ?? noop).retain();
    this.options.metrics.eventsEmitted.inc({ component: source }, events.length);
    // Secrets are masked before any transform or sink sees an event, whatever the config routes where.
    const redactor = this.redactor;
    if (redactor) {
      for (const e of events) {
        if (e.redacted) continue;
        for (const r of redactor.redactEnvelope(e))
          this.options.metrics.secretsRedacted.inc({ component: source, rule: r.rule });
      }
    }
    try {
      if (events.length > 0) await this.deliver(source, events, token);
    } finally {
      token.release();
    }
  }

  private async deliver(from: string, events: Envelope[], token: AckToken): Promise<void> {
    const consumers = this.consumers.get(from) ?? [];
    for (const consumer of consumers) {
      if (consumer.kind === 'sink') {
        // Routed events go only to the sinks they name; not sending one to this sink counts as handled here.
        const routed = routedTo(consumer.name, events);
        if (routed.length === 0) continue;
        token.retain();
        await consumer.driver.enqueue(routed, token);
        continue;
      }
      token.retain();
      try {
        // Branches must not see each other's changes: a transform that shares its input with another consumer
        // works on a copy.
        const input = consumers.length > 1 ? events.map(copyEnvelope) : events;
        const output = await this.runTransform(consumer.name, consumer.instance, input);
        if (output.length > 0) await this.deliver(consumer.name, output, token);
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
      metrics.eventsFailed.inc({ component: name, reason: 'transform_error' }, events.length);
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
    const components = Object.fromEntries(this.health);
    const ready = this.started && !this.stopping && [...this.health.values()].every((h) => h.healthy);
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

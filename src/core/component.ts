// The small interfaces through which the pipeline core knows its components. A component folder provides a zod
// config schema and a factory registered under its type name (see src/registry.ts); the core never imports a
// component directly.
import type { z } from 'zod';
import type { RunningContainers } from '../enrich/running-containers.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { RedactionConfig } from '../policy/redaction-config.ts';
import type { Envelope } from './envelope.ts';

export type ComponentKind = 'source' | 'transform' | 'sink';

export interface ComponentContext {
  /** The component's name in the config (`sources.<name>`). */
  readonly name: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Directory for the component's durable state (checkpoints, buffers), created before `start`. */
  readonly stateDir: string;
  /** The host name Outrider reports as `device.hostname`. */
  readonly hostname: string;
  /** Tells `/readyz` and metrics whether the component works normally (false: degraded, with a reason). */
  setHealthy(healthy: boolean, reason?: string): void;
  /** The pipeline's registry of running containers: container metadata caches feed it, joins read it. */
  readonly runningContainers?: RunningContainers;
}

export interface SourceContext extends ComponentContext {
  /** The redaction settings, for a source that masks secrets where it builds events (decode workers); the
   * pipeline masks every other event itself. Absent: the defaults. */
  readonly redaction?: RedactionConfig;
  /**
   * Hands a batch to every consumer of this source. Resolves once the batch is queued everywhere (waiting while a
   * downstream queue is full: backpressure). `onAcknowledged` runs once every sink that must receive the events
   * has durably accepted them; only then may the source advance its cursor past them.
   */
  emit(events: Envelope[], onAcknowledged?: () => void): Promise<void>;
}

export interface Source {
  start(ctx: SourceContext): Promise<void>;
  /** Stops reading. Resolves when no more `emit` calls will be made. */
  stop(): Promise<void>;
  /** Persists acknowledged cursors; called on shutdown after the sinks drained. */
  commit?(): Promise<void>;
}

export interface TransformContext extends ComponentContext {
  /**
   * Hands events the transform makes on its own (not in answer to an input batch: a timer, a runtime change) to its
   * consumers, as a source does. `onAcknowledged` runs once every sink that must receive them has accepted them.
   */
  emit(events: Envelope[], onAcknowledged?: () => void): Promise<void>;
}

export interface Transform {
  start?(ctx: TransformContext): Promise<void>;
  /** Returns the events to pass on (the same objects, changed, fewer or more). Dropped events count as handled. */
  process(events: Envelope[]): Envelope[] | Promise<Envelope[]>;
  stop?(): Promise<void>;
}

/** What a sink reports when a destination answered per event (a bulk API): the events not listed were accepted. */
export interface SinkWriteResult {
  /** Events refused for good (by index in the batch), with the destination's reason: they are dead-lettered. */
  rejected?: Array<{ index: number; reason: string }>;
  /** Events to send again (by index, in order), e.g. bulk items answered 429. `destination`: they were refused for
   * a reason of the destination's (a bulk item answered 403), which makes the sink not ready until they pass. */
  retry?: { indices: number[]; reason: string; retryAfterMs?: number; destination?: boolean };
}

export interface Sink {
  start?(ctx: ComponentContext): Promise<void>;
  /**
   * Writes one batch. Resolves only when the destination durably accepted it (or with a SinkWriteResult naming the
   * events it did not accept); rejects to have it retried, or with a DeliveryError (src/delivery/outcome.ts) that
   * says what kind of failure it was (transient, the destination's, a batch too large or refused for its content).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: most sinks accept or throw and have nothing to report.
  write(events: Envelope[]): Promise<void | SinkWriteResult>;
  /** Releases resources after the last write. */
  stop(): Promise<void>;
}

/** What a factory declares about its component; `configSchema` validates the component's own keys. */
export interface ComponentFactory<Kind extends ComponentKind, Config, Instance> {
  readonly kind: Kind;
  readonly type: string;
  readonly description: string;
  readonly configSchema: z.ZodType<Config>;
  create(config: Config): Instance;
}

export type SourceFactory<C = unknown> = ComponentFactory<'source', C, Source>;
export type TransformFactory<C = unknown> = ComponentFactory<'transform', C, Transform>;
export type SinkFactory<C = unknown> = ComponentFactory<'sink', C, Sink>;
// biome-ignore lint/suspicious/noExplicitAny: a registry holds factories of every config type; each validates its own.
export type AnyFactory = SourceFactory<any> | TransformFactory<any> | SinkFactory<any>;

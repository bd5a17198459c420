// The small interfaces through which the pipeline core knows its components. A component folder provides a zod
// config schema and a factory registered under its type name (see src/registry.ts); the core never imports a
// component directly.
import type { z } from 'zod';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
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
}

export interface SourceContext extends ComponentContext {
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

export interface Transform {
  start?(ctx: ComponentContext): Promise<void>;
  /** Returns the events to pass on (the same objects, changed, fewer or more). Dropped events count as handled. */
  process(events: Envelope[]): Envelope[] | Promise<Envelope[]>;
  stop?(): Promise<void>;
}

export interface Sink {
  start?(ctx: ComponentContext): Promise<void>;
  /** Writes one batch. Resolves only when the destination durably accepted it; rejects to have it retried. */
  write(events: Envelope[]): Promise<void>;
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

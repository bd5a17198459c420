import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { startAdminServer } from './admin/server.ts';
import { loadConfigFile, type OutriderConfig } from './config/load.ts';
import type { SinkCommonConfig } from './core/common-config.ts';
import type { Sink, Source, Transform } from './core/component.ts';
import { Pipeline, type PipelinePlan } from './core/pipeline.ts';
import { outriderVersion } from './observability/build-info.ts';
import { createLogger, effectiveLogLevel, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { factoryTypes, findFactory } from './registry.ts';

export function loadConfig(path: string): OutriderConfig {
  return loadConfigFile(path, findFactory, factoryTypes);
}

export function buildPlan(config: OutriderConfig): PipelinePlan {
  return {
    sources: config.sources.map((c) => ({
      name: c.name,
      type: c.type,
      instance: c.factory.create(c.config as never) as Source,
    })),
    transforms: config.transforms.map((c) => ({
      name: c.name,
      type: c.type,
      instance: c.factory.create(c.config as never) as Transform,
      inputs: c.config.inputs ?? [],
    })),
    sinks: config.sinks.map((c) => ({
      name: c.name,
      type: c.type,
      instance: c.factory.create(c.config as never) as Sink,
      common: c.config as unknown as SinkCommonConfig,
    })),
  };
}

export interface RunningOutrider {
  pipeline: Pipeline;
  admin: Server | undefined;
  logger: Logger;
  metrics: Metrics;
  /** Graceful stop; resolves true when every sink drained within the shutdown timeout. */
  stop(): Promise<boolean>;
}

/** Starts the sidecar from a validated config. */
export async function startOutrider(
  config: OutriderConfig,
  logger = createLogger(effectiveLogLevel(config.log.level)),
): Promise<RunningOutrider> {
  const metrics = new Metrics();
  const pipeline = new Pipeline(buildPlan(config), {
    dataDir: resolve(config.data_dir),
    hostname: config.hostname ?? hostname(),
    logger,
    metrics,
    redaction: config.redaction,
    stalledAfterMs: config.readiness.stalled_after,
  });
  await pipeline.start();
  const admin = config.admin.enabled
    ? await startAdminServer(config.admin.address, metrics, pipeline, logger)
    : undefined;
  logger.info('outrider started', {
    version: outriderVersion(),
    config: config.file,
    sources: config.sources.map((s) => s.name),
    transforms: config.transforms.map((t) => t.name),
    sinks: config.sinks.map((s) => s.name),
  });
  let stopping: Promise<boolean> | undefined;
  return {
    pipeline,
    admin,
    logger,
    metrics,
    stop: () => {
      stopping ??= (async () => {
        const started = Date.now();
        const drained = await pipeline.stop(config.shutdown_timeout);
        await new Promise<void>((r) => (admin ? admin.close(() => r()) : r()));
        logger.info('outrider stopped', { drained, took_ms: Date.now() - started });
        return drained;
      })();
      return stopping;
    },
  };
}

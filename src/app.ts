import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { startAdminServer } from './admin/server.ts';
import { loadConfigFile, type OutriderConfig } from './config/load.ts';
import type { SinkCommonConfig } from './core/common-config.ts';
import type { Sink, Source, Transform } from './core/component.ts';
import { explainFsError } from './core/os-errors.ts';
import { ComponentStartError, Pipeline, type PipelinePlan } from './core/pipeline.ts';
import { resolveHostName } from './enrich/host-name.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { factoryTypes, findFactory } from './registry.ts';

/** Reads and validates a config file; `env` null leaves `${…}` references unresolved (check-config --no-env). */
export function loadConfig(path: string, env: NodeJS.ProcessEnv | null = process.env): OutriderConfig {
  return loadConfigFile(path, findFactory, factoryTypes, env);
}

export function buildPlan(config: OutriderConfig): PipelinePlan {
  return {
    sources: config.sources.map((c) => ({ name: c.name, instance: c.factory.create(c.config as never) as Source })),
    transforms: config.transforms.map((c) => ({
      name: c.name,
      instance: c.factory.create(c.config as never) as Transform,
      inputs: c.config.inputs ?? [],
    })),
    sinks: config.sinks.map((c) => ({
      name: c.name,
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

/** Outrider could not start: the message is one line naming what failed (an address, a path) and the fix. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** The data directory exists and this process can create files in it, or a StartupError says why not. */
async function checkDataDir(dir: string): Promise<void> {
  const probe = join(dir, `.outrider-write-test-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe);
  } catch (err) {
    // The probe file is ours: the directory is what the operator must fix.
    if ((err as NodeJS.ErrnoException).path === probe) (err as NodeJS.ErrnoException).path = dir;
    const why = explainFsError(err, dir, {
      EACCES: 'make it writable for that user (e.g. chown), or set data_dir to a writable directory',
      EPERM: 'make it writable for that user (e.g. chown), or set data_dir to a writable directory',
      EROFS: 'mount a writable volume there (e.g. docker run -v outrider-data:/var/lib/outrider), or set data_dir',
      ENOSPC: 'free space there, or set data_dir to another file system',
      ENOTDIR: 'set data_dir to a directory',
    });
    throw new StartupError(`cannot write data_dir ${why.startsWith(`${dir}:`) ? why : `${dir}: ${why}`}`);
  }
}

/** The Docker socket the config talks to (the first component with a socket_path), to ask the engine its host name. */
function dockerSocketOf(config: OutriderConfig): string | undefined {
  for (const c of [...config.sources, ...config.transforms]) {
    const socket = (c.config as { socket_path?: unknown }).socket_path;
    if (typeof socket === 'string') return socket;
  }
  return undefined;
}

/**
 * Starts Outrider from a validated config, in the order that never leaves it half-started: the data directory is
 * checked and the admin endpoint bound before any component starts, sinks start before sources. A failure throws a
 * StartupError (one line: what failed and the fix) before any source has read a line when it is the data
 * directory or the admin address.
 */
export async function startOutrider(
  config: OutriderConfig,
  logger = createLogger(config.log.level),
): Promise<RunningOutrider> {
  const metrics = new Metrics();
  const dataDir = resolve(config.data_dir);
  await checkDataDir(dataDir);
  const host = await resolveHostName(config.hostname, process.env, dockerSocketOf(config));
  const pipeline = new Pipeline(buildPlan(config), {
    dataDir,
    hostname: host.name,
    logger,
    metrics,
    redaction: config.redaction,
  });
  let admin: Server | undefined;
  if (config.admin.enabled) {
    admin = await startAdminServer(config.admin.address, metrics, pipeline, logger).catch((err) => {
      const e = err as NodeJS.ErrnoException;
      const fix =
        e.code === 'EADDRINUSE'
          ? 'another process listens there: stop it, or set admin.address (admin.enabled: false turns the endpoint off)'
          : 'set admin.address to an address of this host (admin.enabled: false turns the endpoint off)';
      throw new StartupError(`cannot listen on admin.address ${config.admin.address}: ${e.code ?? e.message}: ${fix}`);
    });
  }
  try {
    await pipeline.start();
  } catch (err) {
    admin?.close();
    // Which component, and for a file system error, the path and who may not use it.
    let why = err instanceof Error ? err.message : String(err);
    if (err instanceof ComponentStartError) {
      const cause = err.cause as NodeJS.ErrnoException;
      why = `${err.kind} "${err.component}": ${cause?.code && cause.path ? explainFsError(cause, cause.path) : cause?.message}`;
    }
    throw new StartupError(`cannot start ${why}`);
  }
  logger.info('outrider started', {
    hostname: host.name,
    hostname_from: host.from,
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

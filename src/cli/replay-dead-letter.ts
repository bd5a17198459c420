// `outrider replay-dead-letter --sink NAME [FILE]`: sends the events of a dead-letter file again through that sink,
// once the cause of their refusal is fixed (a mapping corrected, a size limit raised). It runs a pipeline of its own:
// the file as its source, the configured sink (in memory: a disk buffer stays the running Outrider's), so the
// batching, retries and classification are those of `outrider run`; events refused again go to the sink's
// dead-letter file again.
import { existsSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPlan } from '../app.ts';
import type { OutriderConfig } from '../config/load.ts';
import type { SinkCommonConfig } from '../core/common-config.ts';
import type { Source, SourceContext } from '../core/component.ts';
import type { Envelope } from '../core/envelope.ts';
import { Pipeline } from '../core/pipeline.ts';
import type { DeliveryOptions } from '../delivery/config.ts';
import { readDeadLetters } from '../delivery/dead-letter.ts';
import { createLogger, effectiveLogLevel } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import type { CommandOutcome } from './outcome.ts';

/** Events per batch handed to the sink (its own batch limits apply on top). */
const REPLAY_BATCH = 500;

/** The dead-letter file as a source: emits its events in order and knows when every one was acknowledged. */
class DeadLetterReplay implements Source {
  read = 0;
  acknowledged = 0;
  badLines: number[] = [];
  private reading = false;
  private stopping = false;
  private running: Promise<void> = Promise.resolve();
  private resolveDone: () => void = () => {};
  /** Resolves once the whole file was read and every event acknowledged. */
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly file: string) {}

  async start(ctx: SourceContext): Promise<void> {
    this.reading = true;
    this.running = this.run(ctx).catch((err) => {
      ctx.logger.error('cannot read the dead-letter file', { error: err, path: this.file });
      this.stopping = true;
    });
  }

  private async run(ctx: SourceContext): Promise<void> {
    let batch: Envelope[] = [];
    const emit = async () => {
      const events = batch;
      batch = [];
      this.read += events.length;
      await ctx.emit(events, () => {
        this.acknowledged += events.length;
        this.settle();
      });
    };
    for await (const record of readDeadLetters(this.file, (line) => this.badLines.push(line))) {
      if (this.stopping) return;
      const { event } = record;
      const raw = typeof event.raw_data === 'string' ? event.raw_data : '';
      const envelope: Envelope = { event, source: record.source ?? 'dead-letter', raw };
      if (record.container) envelope.container = record.container;
      batch.push(envelope);
      if (batch.length >= REPLAY_BATCH) await emit();
    }
    if (batch.length > 0 && !this.stopping) await emit();
    this.reading = false;
    this.settle();
  }

  private settle(): void {
    if (!this.reading && this.acknowledged === this.read) this.resolveDone();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }
}

/** `usage` is the synopsis, for a usage error. */
export async function replayDeadLetterCommand(
  values: { config?: string; sink?: string },
  positionals: string[],
  loadConfig: (file: string | undefined) => Promise<OutriderConfig | undefined>,
  usage: string,
): Promise<CommandOutcome> {
  if (!values.sink) {
    process.stderr.write(`--sink is required\nusage: ${usage}\n`);
    return 'usage';
  }
  const config = await loadConfig(values.config);
  if (!config) return 'usage';
  const entry = config.sinks.find((s) => s.name === values.sink);
  const sinkConfig = entry?.config as (SinkCommonConfig & Partial<DeliveryOptions>) | undefined;
  if (!entry || !sinkConfig?.dead_letter) {
    process.stderr.write(
      entry
        ? `sink "${entry.name}" (${entry.type}) has no dead-letter file: only network sinks refuse events\n`
        : `no sink named "${values.sink}" in the config (sinks: ${config.sinks.map((s) => s.name).join(', ')})\n`,
    );
    return 'usage';
  }
  const dataDir = resolve(config.data_dir);
  const own = resolve(sinkConfig.dead_letter.path ?? join(dataDir, 'state', entry.name, 'dead-letter.ndjson'));
  const file = positionals[0] ? resolve(positionals[0]) : own;
  if (!existsSync(file)) {
    process.stderr.write(`nothing to replay: ${file} does not exist\n`);
    return 'ok';
  }
  // The sink's own file is moved aside first: events refused again are written to a new one, not read back.
  const input = file === own ? `${own}.replaying-${Date.now()}` : file;
  if (input !== file) await rename(file, input);

  const logger = createLogger(effectiveLogLevel(config.log.level));
  const metrics = new Metrics(false);
  const replay = new DeadLetterReplay(input);
  const [sink] = buildPlan({ ...config, sources: [], transforms: [], sinks: [entry] }).sinks;
  const common = {
    ...sinkConfig,
    inputs: ['dead-letter'],
    // A disk buffer belongs to the running Outrider: the replay delivers from memory.
    ...(sinkConfig.buffer
      ? { buffer: { ...sinkConfig.buffer, type: 'memory' as const, when_full: 'block' as const } }
      : {}),
  };
  const pipeline = new Pipeline(
    {
      sources: [{ name: 'dead-letter', type: 'dead_letter_file', instance: replay }],
      transforms: [],
      sinks: [{ ...sink!, common }],
    },
    {
      dataDir,
      hostname: config.hostname ?? hostname(),
      logger,
      metrics,
      redaction: config.redaction,
      stalledAfterMs: config.readiness.stalled_after,
    },
  );
  let interrupted = false;
  const stop = new Promise<void>((resolveStop) => {
    const onSignal = () => {
      interrupted = true;
      resolveStop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await pipeline.start();
  await Promise.race([replay.done, stop]);
  await pipeline.stop(config.shutdown_timeout);
  const refusedAgain = (await metrics.sinkEventsDeadLettered.get()).values.reduce((n, v) => n + v.value, 0);
  const complete = !interrupted && replay.acknowledged === replay.read;
  const summary = {
    file,
    sink: entry.name,
    events: replay.read,
    delivered: replay.acknowledged - refusedAgain,
    dead_lettered_again: refusedAgain,
    unreadable_lines: replay.badLines.slice(0, 20),
    ...(complete ? {} : { interrupted: true }),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (input !== file) {
    if (complete && replay.badLines.length === 0) await unlink(input);
    else
      process.stderr.write(
        `not every event was replayed; the file is kept as ${input} (replay it with that FILE: events already delivered are sent again)\n`,
      );
  }
  return complete && refusedAgain === 0 && replay.badLines.length === 0 ? 'ok' : 'failed';
}

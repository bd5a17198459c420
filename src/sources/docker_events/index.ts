// Docker Engine events as a security source: container lifecycle, exec into containers, image pulls, volume mounts,
// network connections, mapped to OCSF (src/ocsf/mappers/docker-events.ts). Container starts carry the container's
// privileges, host namespaces and host mounts, read by inspect.
//
// Delivery: at-least-once across Outrider and engine restarts, within what the engine keeps. The position is the
// time (timeNano) of the last acknowledged event plus the keys of the events acknowledged at exactly that time; on
// (re)connection the stream resumes with `since=` that time (inclusive), and the boundary events already delivered
// are skipped. The engine buffers only its last 256 events, in memory: events older than that when Outrider comes
// back, or emitted before an engine restart while Outrider was down, cannot be replayed by anyone.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { OrderedCommitTracker } from '../../core/ack.ts';
import { backoffDelay, sleep } from '../../core/backoff.ts';
import type { Source, SourceContext, SourceFactory } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { metadataCacheOptions } from '../../enrich/docker-config.ts';
import { containerRefFromEventAttributes } from '../../enrich/docker-inspect.ts';
import { DockerMetadataCache, dockerode, errorText, nanoToSince } from '../../enrich/docker-metadata.ts';
import {
  containerIdOfEvent,
  type DockerEngineEvent,
  engineEventKey,
  parseEngineEvent,
} from '../../formats/docker-events.ts';
import { RateLimitedLog } from '../../observability/logger.ts';
import {
  actionVerb,
  type DockerEventContext,
  mapDockerEvent,
  mapUnparsedDockerEvent,
} from '../../ocsf/mappers/docker-events.ts';
import { writeFileAtomic } from '../../state/atomic-file.ts';
import { type DockerEventsConfig, dockerEventsSchema } from './config.ts';

/** Where the stream resumes: the newest event time delivered, and the events delivered at exactly that time. */
export interface EventCursor {
  timeNano: string;
  keys: string[];
}

const CURSOR_FILE = 'cursor.json';
/** `since` for start_at: buffered — any time before the engine's oldest buffered event. */
const SINCE_EPOCH = '1';

export class DockerEventsSource implements Source {
  private ctx: SourceContext | undefined;
  private cache: DockerMetadataCache | undefined;
  /** Events stream client: no socket timeout (the stream is idle while nothing happens). */
  private client: Docker | undefined;
  /** Request client (pings), with the request timeout. */
  private api: Docker | undefined;
  private tracker: OrderedCommitTracker<EventCursor> | undefined;
  /** Position after the last event read (used to resume within this process). */
  private received: EventCursor | undefined;
  /** Position after the last event acknowledged by every sink (persisted). */
  private committed: EventCursor | undefined;
  private dirty = false;
  private readonly stopping = new AbortController();
  private streamAbort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private problems: RateLimitedLog | undefined;

  constructor(private readonly config: DockerEventsConfig) {}

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    this.problems = new RateLimitedLog(ctx.logger);
    this.committed = await loadCursor(join(ctx.stateDir, CURSOR_FILE));
    this.received = this.committed;
    this.tracker = new OrderedCommitTracker<EventCursor>((c) => {
      this.committed = c;
      this.dirty = true;
    });
    this.client = new (dockerode())({ socketPath: this.config.socket_path });
    this.api = new (dockerode())({ socketPath: this.config.socket_path, timeout: this.config.request_timeout });
    this.cache = new DockerMetadataCache(metadataCacheOptions(this.config, false), {
      logger: ctx.logger,
      metrics: ctx.metrics,
      component: ctx.name,
      // Health is the events stream's (below); a failed inspect only degrades the events it concerns.
      onHealth: () => undefined,
    });
    await this.cache.start();
    this.checkpointTimer = setInterval(() => this.saveCursor(), this.config.checkpoint_interval);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.streamAbort?.abort();
    clearInterval(this.checkpointTimer);
    await this.loop;
    await this.cache?.stop();
  }

  async commit(): Promise<void> {
    await this.saveCursor();
  }

  private async saveCursor(): Promise<void> {
    if (!this.dirty || !this.committed || !this.ctx) return;
    this.dirty = false;
    try {
      await writeFileAtomic(join(this.ctx.stateDir, CURSOR_FILE), JSON.stringify(this.committed));
    } catch (err) {
      this.dirty = true;
      this.ctx.logger.error('cannot save docker events position', { error: err });
    }
  }

  private async run(): Promise<void> {
    const ctx = this.ctx!;
    let attempt = 0;
    let first = true;
    while (!this.stopping.signal.aborted) {
      const streamAbort = new AbortController();
      this.streamAbort = streamAbort;
      try {
        const since = this.received
          ? nanoToSince(this.received.timeNano)
          : first && this.config.start_at === 'buffered'
            ? SINCE_EPOCH
            : undefined;
        if (!this.received && !since) {
          // First start from "now": that is the position to come back to, even if no event follows.
          this.received = { timeNano: `${BigInt(Date.now()) * 1_000_000n}`, keys: [] };
          this.committed = { ...this.received, keys: [] };
          this.dirty = true;
        }
        const stream = (await this.client!.getEvents({
          ...(since ? { since } : {}),
          abortSignal: streamAbort.signal,
        } as Docker.GetEventsOptions)) as NodeJS.ReadableStream;
        first = false;
        attempt = 0;
        ctx.metrics.dockerApiUp.set({ component: ctx.name }, 1);
        ctx.setHealthy(true);
        ctx.logger.info('following docker engine events', { since: since ?? 'now' });
        await this.follow(stream, streamAbort);
        if (!this.stopping.signal.aborted) throw new Error('docker events stream ended');
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        ctx.metrics.dockerApiUp.set({ component: ctx.name }, 0);
        ctx.metrics.dockerReconnects.inc({ component: ctx.name });
        ctx.setHealthy(false, `docker events stream: ${errorText(err)}`);
        ctx.logger.warn('docker events stream lost; reconnecting', { error: errorText(err) });
      } finally {
        streamAbort.abort();
      }
      const wait = backoffDelay(attempt++, this.config.reconnect.initial_backoff, this.config.reconnect.max_backoff);
      await sleep(wait, this.stopping.signal);
    }
  }

  private async follow(stream: NodeJS.ReadableStream, streamAbort: AbortController): Promise<void> {
    const pings = setInterval(() => {
      this.api!.ping().catch(() => streamAbort.abort());
    }, this.config.health_interval);
    let rest = '';
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        rest += chunk.toString('utf8');
        const cut = rest.lastIndexOf('\n');
        if (cut < 0) continue;
        const lines = rest.slice(0, cut).split('\n');
        rest = rest.slice(cut + 1);
        await this.handle(lines);
      }
    } catch (err) {
      if (!this.stopping.signal.aborted) throw err;
    } finally {
      clearInterval(pings);
    }
  }

  /** Maps a chunk's events and emits them as one batch, tracked by the position after its last event. */
  private async handle(lines: string[]): Promise<void> {
    const ctx = this.ctx!;
    const envelopes: Envelope[] = [];
    let bytes = 0;
    for (const raw of lines) {
      if (raw.trim() === '') continue;
      bytes += raw.length + 1;
      const ev = parseEngineEvent(raw);
      if (typeof ev === 'string') {
        ctx.metrics.inputKeptRaw.inc({ component: ctx.name, reason: 'malformed_record' });
        this.problems!.warn('bad input kept raw', { reason: 'malformed_record', detail: ev });
        envelopes.push({
          event: mapUnparsedDockerEvent(raw, `malformed docker event: ${ev}`, ctx.hostname),
          source: ctx.name,
          raw,
        });
        continue;
      }
      if (!this.advance(ev)) continue;
      envelopes.push(await this.envelope(ev, raw));
    }
    ctx.metrics.bytesRead.inc({ component: ctx.name }, bytes);
    ctx.metrics.eventsRead.inc({ component: ctx.name }, envelopes.length);
    if (envelopes.length === 0) return;
    const position: EventCursor = { timeNano: this.received!.timeNano, keys: [...this.received!.keys] };
    await ctx.emit(envelopes, this.tracker!.track(position));
  }

  /** Moves the read position past `ev`; false when `ev` was already delivered (a replay at the boundary). */
  private advance(ev: DockerEngineEvent): boolean {
    const key = engineEventKey(ev);
    const current = this.received;
    if (current) {
      const t = BigInt(ev.timeNano);
      const c = BigInt(current.timeNano);
      if (t < c || (t === c && current.keys.includes(key))) return false;
      if (t === c) {
        current.keys.push(key);
        return true;
      }
    }
    this.received = { timeNano: ev.timeNano, keys: [key] };
    return true;
  }

  private async envelope(ev: DockerEngineEvent, raw: string): Promise<Envelope> {
    const ctx = this.ctx!;
    const cache = this.cache!;
    const mapping: DockerEventContext = { hostname: ctx.hostname, raw };
    const id = containerIdOfEvent(ev);
    if (id) {
      cache.observe(ev);
      const verb = ev.Type === 'container' ? actionVerb(ev.Action) : '';
      const needsInspect = verb === 'create' || verb === 'start';
      let entry = cache.entry(id);
      if (!entry?.inspected && entry?.removedAt === undefined)
        entry = await Promise.race([cache.resolve(id), sleep(this.config.inspect_wait).then(() => cache.entry(id))]);
      mapping.container =
        entry?.ref ??
        containerRefFromEventAttributes(id, ev.Type === 'container' ? ev.Actor.Attributes : {}, this.config.labels);
      if (entry?.security) mapping.security = entry.security;
      else if (needsInspect)
        mapping.enrichmentMissing = cache.available
          ? 'container removed before it could be inspected: its privileges and mounts are unknown'
          : 'docker engine unreachable: the container’s privileges and mounts are unknown';
    }
    const event = mapDockerEvent(ev, mapping);
    return mapping.container
      ? { event, source: ctx.name, raw, container: mapping.container }
      : { event, source: ctx.name, raw };
  }
}

async function loadCursor(file: string): Promise<EventCursor | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const v = JSON.parse(text) as Partial<EventCursor>;
  if (typeof v.timeNano !== 'string' || !/^\d+$/.test(v.timeNano) || !Array.isArray(v.keys))
    throw new Error(`${file}: not a docker events position`);
  return { timeNano: v.timeNano, keys: v.keys.filter((k): k is string => typeof k === 'string') };
}

export const dockerEventsFactory: SourceFactory<DockerEventsConfig> = {
  kind: 'source',
  type: 'docker_events',
  description:
    'Docker Engine events (container lifecycle, exec, image, volume, network) as OCSF, with privileged/host-mount starts flagged; resumes after restarts without loss.',
  configSchema: dockerEventsSchema,
  create: (config) => new DockerEventsSource(config),
};

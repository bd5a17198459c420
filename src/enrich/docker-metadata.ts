// Container metadata by container id, for enriching every event without asking Docker per event. Filled by
// `list` + `inspect` when connected and by `inspect` on each container create/start seen on the engine's /events
// stream; metadata is taken while the container exists, so the last lines of a container that lived for one second
// (read after it was removed) are still described. The first subscription asks for the engine's events of the minute
// before Outrider started (REPLAY_MS), so a container created and removed just before is described from its events
// too. Removed containers stay as tombstones for a while; the whole cache is bounded (least recently used entries go
// first). Outrider only reads from the Docker API: list, inspect, events, ping (see docs/enrichment.md, "Least
// privilege").
import type Docker from 'dockerode';
import { backoffDelay, sleep } from '../core/backoff.ts';
import type { ContainerRef } from '../core/envelope.ts';
import { lazyModule } from '../core/lazy-module.ts';
import { type DockerEngineEvent, parseEngineEvent } from '../formats/docker-events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { containerObject } from '../ocsf/mappers/container.ts';
import { actionVerb } from '../ocsf/mappers/docker-events.ts';
import type { ContainerMetadataSource } from './container-enricher.ts';
import {
  containerImage,
  containerRefFromEventAttributes,
  containerRefFromInspect,
  type DockerSecurityFacts,
  type InspectedContainer,
  type InspectedImage,
  securityFactsFromInspect,
} from './docker-inspect.ts';
import type { LabelFilter } from './label-filter.ts';
import { ContainerMetadataStore, type HeldContainer } from './metadata-store.ts';
import type { ContainerLookup } from './pid-attribution.ts';
import type { ContainerFeed } from './running-containers.ts';

/** The Docker API client library, loaded by the first component that talks to the engine. */
export const dockerode = lazyModule<typeof import('dockerode')>('dockerode');

export interface DockerMetadataOptions {
  socketPath: string;
  /** Longest wait for one API call (list, inspect, ping) before Docker counts as unreachable/slow. */
  requestTimeoutMs: number;
  /** How long a removed container's metadata stays available. */
  tombstoneTtlMs: number;
  /** Most containers held (live and tombstoned); least recently used go first. */
  maxEntries: number;
  labels: LabelFilter;
  reconnect: { initialMs: number; maxMs: number };
  /** Ping interval while connected (a hung engine is noticed within this plus requestTimeoutMs). */
  healthIntervalMs: number;
  /** Subscribe to /events and list containers (the transform). False when the owner feeds engine events itself
   * through `observe` (the docker_events source, which has its own resumable subscription). */
  watchEvents: boolean;
}

/** A container as held: `inspected` when built from inspect (not only from an engine event's attributes). */
export interface ContainerMetadata extends HeldContainer {
  /** Configuration facts (privileges, host namespaces and mounts); absent when only event attributes were seen. */
  security?: DockerSecurityFacts;
  /** Main process pid on the host while running. */
  pid?: number;
  /** For a container held from its engine events only: when the first was (epoch ms) and the image reference it
   * names. */
  fromEvents?: { at: number; image?: string };
}

export interface DockerMetadataHooks {
  logger: Logger;
  metrics: Metrics;
  component: string;
  /** Called when the engine becomes reachable (true) or unreachable/slow (false, with the reason). */
  onHealth(healthy: boolean, reason?: string): void;
  /** Told which containers run (from inspect, die/destroy events and full listings), for joins on what runs. */
  running?: ContainerFeed;
}

const MAX_IMAGES = 512;
/** How far back the first subscription to /events reaches: containers that came and went just before Outrider was up
 * (their log files still being read) are described from their events. */
const REPLAY_MS = 60_000;
/** Inspects run at most this many at a time; a burst of container starts queues behind them. */
const INSPECT_CONCURRENCY = 4;

export class DockerMetadataCache implements ContainerLookup, ContainerMetadataSource<ContainerMetadata> {
  readonly unavailableReason = 'docker engine unreachable';

  private readonly entries: ContainerMetadataStore<ContainerMetadata>;
  private readonly inFlight = new Map<string, Promise<ContainerMetadata | undefined>>();
  private readonly images = new Map<string, InspectedImage>();
  private readonly api: Docker;
  private readonly streamClient: Docker;
  private readonly abort = new AbortController();
  private streamAbort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private connected = false;
  private healthReported: boolean | undefined;
  private lastEventNano: string | undefined;
  /** Epoch ms the last full listing was asked: an engine event from before it is older news than the listing. */
  private listedAt = 0;
  private readonly startedAt = Date.now();
  private activeInspects = 0;
  private readonly inspectQueue: Array<() => void> = [];

  constructor(
    private readonly options: DockerMetadataOptions,
    private readonly hooks: DockerMetadataHooks,
  ) {
    this.entries = new ContainerMetadataStore({
      maxEntries: options.maxEntries,
      tombstoneTtlMs: options.tombstoneTtlMs,
      onSize: (size) => hooks.metrics.enrichmentCacheEntries.set({ component: hooks.component }, size),
    });
    this.api = new (dockerode())({ socketPath: options.socketPath, timeout: options.requestTimeoutMs });
    // The events stream is idle for as long as nothing happens: no socket timeout on it (pings watch liveness).
    this.streamClient = new (dockerode())({ socketPath: options.socketPath });
  }

  /** Connects (waiting at most one request timeout for the first listing) and keeps the cache fresh until stop. */
  async start(): Promise<void> {
    this.sweepTimer = setInterval(() => this.entries.sweep(), this.entries.sweepIntervalMs);
    this.sweepTimer.unref();
    if (!this.options.watchEvents) return;
    let firstSync!: () => void;
    const synced = new Promise<void>((r) => {
      firstSync = r;
    });
    this.loop = this.watch(firstSync);
    await Promise.race([synced, sleep(this.options.requestTimeoutMs * 2, this.abort.signal)]);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.streamAbort?.abort();
    clearInterval(this.sweepTimer);
    clearInterval(this.healthTimer);
    await this.loop;
    this.hooks.running?.close();
  }

  /** Whether the engine answers (always true until proven otherwise for on-demand use). */
  get available(): boolean {
    return this.options.watchEvents ? this.connected : this.healthReported !== false;
  }

  /** Docker names containers by id: an event without one is not its to describe. */
  keyOf(ref: ContainerRef): string | undefined {
    return ref.id;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The metadata of a container, if held. Synchronous: this is the per-event path. */
  entry(id: string, now = Date.now()): ContainerMetadata | undefined {
    return this.entries.get(id, now);
  }

  lookup(id: string): ContainerRef | undefined {
    return this.entry(id)?.ref;
  }

  /** The metadata of a container: held, being inspected, or inspected now (once; unknown ids are remembered). */
  resolve(id: string): Promise<ContainerMetadata | undefined> {
    const held = this.entry(id);
    if (held?.inspected || held?.removedAt !== undefined) return Promise.resolve(held);
    const pending = this.inFlight.get(id);
    if (pending) return pending;
    if (this.entries.isUnknown(id)) return Promise.resolve(held);
    return this.inspect(id);
  }

  /** Whether the last inspect of this id found nothing (it was already removed, or never existed). */
  isUnknown(id: string): boolean {
    return this.entries.isUnknown(id);
  }

  /** Records a container from an inspect document (used by the live path, and by tests and benchmarks); `askedAt`
   * is when the inspect was asked (a die seen since makes its "running" stale). */
  remember(info: InspectedContainer, image?: InspectedImage, askedAt = Date.now()): ContainerMetadata {
    const ref = containerRefFromInspect(info, image, this.options.labels);
    const previous = this.entries.peek(info.Id);
    const entry: ContainerMetadata = {
      id: info.Id,
      ref,
      ocsf: containerObject(ref),
      security: securityFactsFromInspect(info),
      inspected: true,
      touched: Date.now(),
    };
    if (info.State?.Running && info.State.Pid) entry.pid = info.State.Pid;
    if (previous?.removedAt !== undefined) entry.removedAt = previous.removedAt;
    this.entries.set(entry);
    // A created container that never started is neither: only running and ended states are news.
    if (info.State?.Running) this.hooks.running?.running(ref, askedAt);
    else if (info.State?.Status && info.State.Status !== 'created') this.hooks.running?.stopped(info.Id);
    return entry;
  }

  /** Updates the cache from one engine event: inspect on create/start/rename/update, tombstone on destroy. Events
   * also give a first description (name, image, labels) before inspect answers, and if it never does. */
  observe(ev: DockerEngineEvent): void {
    if (ev.Type !== 'container') return;
    this.lastEventNano = ev.timeNano;
    const id = ev.Actor.ID;
    const verb = actionVerb(ev.Action);
    const held = this.entries.peek(id);
    if (!held) {
      const ref = containerRefFromEventAttributes(id, ev.Actor.Attributes, this.options.labels);
      const image = ev.Actor.Attributes.image;
      this.entries.set({
        id,
        ref,
        ocsf: containerObject(ref),
        inspected: false,
        touched: Date.now(),
        fromEvents: { at: Number(ev.timeNano) / 1e6, ...(image ? { image } : {}) },
      });
    }
    // An event from before the last listing (replayed on subscription) describes, but does not say what runs now:
    // the listing does (a container that died then and was restarted runs, and must not be told stopped).
    const current = Number(ev.timeNano) / 1e6 >= this.listedAt;
    if (verb === 'destroy') {
      const e = this.entries.peek(id)!;
      e.removedAt ??= Date.now();
      e.pid = undefined;
      if (current) this.hooks.running?.stopped(id);
      if (!e.inspected && !this.isUnknown(id)) this.inspect(id).catch(() => undefined);
      return;
    }
    if (verb === 'die') {
      if (!current) return;
      const e = this.entries.peek(id);
      if (e) e.pid = undefined;
      this.hooks.running?.stopped(id);
      return;
    }
    // Configuration may change at these verbs: read it again. Other events only fill a gap, once per id.
    if (verb === 'create' || verb === 'start' || verb === 'rename' || verb === 'update') {
      this.inspect(id).catch(() => undefined);
    } else if (!held?.inspected && !this.isUnknown(id)) {
      this.inspect(id).catch(() => undefined);
    }
  }

  private inspect(id: string): Promise<ContainerMetadata | undefined> {
    const pending = this.inFlight.get(id);
    if (pending) return pending;
    const p = this.withSlot(async () => {
      try {
        const askedAt = Date.now();
        const info = (await this.api.getContainer(id).inspect()) as InspectedContainer;
        const image = info.Image ? await this.image(info.Image) : undefined;
        this.entries.forgetUnknown(id);
        this.reportHealth(true);
        return this.remember(info, image, askedAt);
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 404) {
          this.entries.rememberUnknown(id);
          return await this.describeGone(id);
        }
        this.reportHealth(false, `docker inspect failed: ${errorText(err)}`);
        return this.entries.peek(id);
      }
    }).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, p);
    return p;
  }

  /** A container gone before it could be inspected, held from its engine events (name, image reference, labels): the
   * image its events name, inspected now, completes the description — unless that image was built after the
   * container's first event (the tag moved since: it is not the container's image). */
  private async describeGone(id: string): Promise<ContainerMetadata | undefined> {
    const held = this.entries.peek(id);
    const reference = held?.fromEvents?.image;
    if (!held || held.inspected || !reference) return held;
    let image: InspectedImage;
    try {
      image = (await this.api.getImage(reference).inspect()) as InspectedImage;
    } catch {
      return held;
    }
    const now = this.entries.peek(id);
    if (now !== held || !(Date.parse(image.Created ?? '') <= held.fromEvents!.at)) return now;
    const ref: ContainerRef = { ...held.ref };
    const img = containerImage(reference, image.Id, image);
    if (img) ref.image = img;
    const entry: ContainerMetadata = { ...held, ref, ocsf: containerObject(ref), inspected: true, touched: Date.now() };
    this.entries.set(entry);
    return entry;
  }

  private async image(imageId: string): Promise<InspectedImage | undefined> {
    const held = this.images.get(imageId);
    if (held) return held;
    try {
      const info = (await this.api.getImage(imageId).inspect()) as InspectedImage;
      if (this.images.size >= MAX_IMAGES) this.images.delete(this.images.keys().next().value!);
      this.images.set(imageId, info);
      return info;
    } catch {
      // The image may be gone already; the container's own image id is enough.
      return undefined;
    }
  }

  private async withSlot<T>(task: () => Promise<T>): Promise<T> {
    if (this.activeInspects >= INSPECT_CONCURRENCY)
      await new Promise<void>((r) => {
        this.inspectQueue.push(r);
      });
    this.activeInspects++;
    try {
      return await task();
    } finally {
      this.activeInspects--;
      this.inspectQueue.shift()?.();
    }
  }

  private reportHealth(healthy: boolean, reason?: string): void {
    const { metrics, component, logger } = this.hooks;
    metrics.dockerApiUp.set({ component }, healthy ? 1 : 0);
    if (this.healthReported === healthy) return;
    this.healthReported = healthy;
    if (healthy) logger.info('docker engine reachable; container metadata enrichment active');
    else logger.warn('docker engine unreachable; events are forwarded without container metadata', { reason });
    this.hooks.onHealth(healthy, reason);
  }

  /** Subscribe, list, follow; on any failure mark degraded, back off, and do it again. */
  private async watch(firstSync: () => void): Promise<void> {
    const { metrics, component } = this.hooks;
    let attempt = 0;
    while (!this.abort.signal.aborted) {
      const streamAbort = new AbortController();
      this.streamAbort = streamAbort;
      try {
        await this.api.ping();
        // Resumed after the last event seen (the API takes seconds.nanoseconds as text); the first time, from a
        // minute before start.
        const since: string | number = this.lastEventNano
          ? nanoToSince(this.lastEventNano)
          : Math.floor((this.startedAt - REPLAY_MS) / 1000);
        const options: Record<string, unknown> = {
          since,
          filters: JSON.stringify({ type: ['container'] }),
          abortSignal: streamAbort.signal,
        };
        const stream = (await this.streamClient.getEvents(options as Docker.GetEventsOptions)) as NodeJS.ReadableStream;
        // Subscribed first, listed second: a container created in between is on the stream, not lost.
        await this.syncAll();
        this.connected = true;
        this.reportHealth(true);
        firstSync();
        attempt = 0;
        this.startPings(streamAbort);
        await this.follow(stream);
        if (!this.abort.signal.aborted) throw new Error('docker events stream ended');
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.connected = false;
        this.reportHealth(false, `docker engine API: ${errorText(err)}`);
        metrics.dockerReconnects.inc({ component });
      } finally {
        clearInterval(this.healthTimer);
        streamAbort.abort();
      }
      this.connected = false;
      const wait = backoffDelay(attempt++, this.options.reconnect.initialMs, this.options.reconnect.maxMs);
      await sleep(wait, this.abort.signal);
    }
    this.connected = false;
  }

  private startPings(streamAbort: AbortController): void {
    clearInterval(this.healthTimer);
    this.healthTimer = setInterval(() => {
      this.api.ping().catch((err: unknown) => {
        this.hooks.logger.warn('docker engine did not answer a ping; reconnecting', { error: errorText(err) });
        streamAbort.abort();
      });
    }, this.options.healthIntervalMs);
    this.healthTimer.unref();
  }

  private async follow(stream: NodeJS.ReadableStream): Promise<void> {
    let rest = '';
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        rest += chunk.toString('utf8');
        let nl = rest.indexOf('\n');
        while (nl >= 0) {
          const line = rest.slice(0, nl).trim();
          rest = rest.slice(nl + 1);
          nl = rest.indexOf('\n');
          if (line === '') continue;
          const ev = parseEngineEvent(line);
          if (typeof ev !== 'string') this.observe(ev);
        }
      }
    } catch (err) {
      if (!this.abort.signal.aborted) throw err;
    }
  }

  /** Lists every container (running or not) and inspects those not held; containers held but no longer listed
   * were removed while we were not watching: they become tombstones. */
  private async syncAll(): Promise<void> {
    const listedAt = Date.now();
    this.listedAt = listedAt;
    const listed = await this.api.listContainers({ all: true });
    const ids = new Set(listed.map((c) => c.Id));
    const now = Date.now();
    for (const e of this.entries.values()) if (!ids.has(e.id) && e.removedAt === undefined) e.removedAt = now;
    await Promise.all(
      listed.filter((c) => !this.entries.peek(c.Id)?.inspected).map((c) => this.inspect(c.Id).catch(() => undefined)),
    );
    const running = listed.filter((c) => c.State === 'running').map((c) => this.entries.peek(c.Id));
    this.hooks.running?.listed(
      running.filter((e) => e?.inspected).map((e) => e!.ref),
      listedAt,
    );
  }
}

/** `1795425433679423964` → `1795425433.679423964`, the form the Engine API takes for since/until. */
export function nanoToSince(timeNano: string): string {
  const padded = timeNano.padStart(10, '0');
  return `${padded.slice(0, -9)}.${padded.slice(-9)}`;
}

export function errorText(err: unknown): string {
  const e = err as { message?: string; code?: string };
  return e?.message ?? e?.code ?? String(err);
}

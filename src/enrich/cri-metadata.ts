// Container metadata from a Kubernetes node's container runtime (containerd, CRI-O) over its CRI socket, for
// enriching every event of a pod's container without asking the runtime per event.
//
// The CRI has no event stream Outrider may use read-only, so the cache lists (ListPodSandbox + ListContainers, then
// ContainerStatus once per new container) — and it lists at the moment a container's log file appears: the log
// directory (/var/log/pods) is watched (inotify), and the runtime creates a container's log when it starts it. A
// container that lives for a few milliseconds, whose pod is removed at once, is therefore described while it
// exists, long before its last line is read. A periodic listing catches what a watch missed, notices removals
// (containers no longer listed become tombstones, kept for tombstone_ttl) and is the health check; an event of a
// container not held yet asks for one more listing (bounded wait). Every listing also tells the pipeline's registry
// of running containers which of them run (state CONTAINER_RUNNING), so scan findings join to pods: a container that
// exited or was removed leaves it at the next listing.
import { backoffDelay, sleep } from '../core/backoff.ts';
import type { ContainerRef } from '../core/envelope.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { containerObject } from '../ocsf/mappers/container.ts';
import { FileDiscovery } from '../sources/tail/discovery.ts';
import type { ContainerMetadataSource } from './container-enricher.ts';
import { CRI_API_VERSION, CriClient, type CriContainer, type CriPodSandbox, criErrorText } from './cri-client.ts';
import { containerRefFromCri, podContainerKey, runtimeFromName } from './cri-describe.ts';
import type { LabelFilter } from './label-filter.ts';
import { ContainerMetadataStore, type HeldContainer } from './metadata-store.ts';
import type { ContainerLookup } from './pid-attribution.ts';
import type { ContainerFeed } from './running-containers.ts';

export interface CriMetadataOptions {
  /** The runtime's CRI socket. */
  socket: string;
  /** Longest wait for one call before the runtime counts as unreachable. */
  requestTimeoutMs: number;
  tombstoneTtlMs: number;
  maxEntries: number;
  /** Periodic listing (catches what the log-directory watch missed, notices removals, checks health). */
  resyncIntervalMs: number;
  reconnect: { initialMs: number; maxMs: number };
  podLabels: LabelFilter;
  podAnnotations: LabelFilter;
  node?: string;
  /** Directory of the pods' logs, watched so a new container is described when its log appears; undefined: none. */
  logDirectory?: string;
}

export interface CriMetadataHooks {
  logger: Logger;
  metrics: Metrics;
  component: string;
  /** Called when the runtime becomes reachable (true) or not (false, with the reason). */
  onHealth(healthy: boolean, reason?: string): void;
  /** Told which containers run at every listing, for joins on what runs. */
  running?: ContainerFeed;
}

export interface CriContainerMetadata extends HeldContainer {
  /** podContainerKey of the container (its log path's identity), when its pod is known. */
  podKey?: string;
}

/** ContainerStatus calls at most this many at a time (a node full of new pods queues behind them). */
const STATUS_CONCURRENCY = 4;

/** Why a CRI runtime cannot be used: shown on events and in /readyz. */
class CriUnusable extends Error {}

export class CriMetadataCache implements ContainerMetadataSource<CriContainerMetadata>, ContainerLookup {
  private readonly entries: ContainerMetadataStore<CriContainerMetadata>;
  /** podContainerKey → container id. */
  private readonly byPodKey = new Map<string, string>();
  private readonly pathKeys = new WeakMap<ContainerRef, string>();
  private readonly abort = new AbortController();
  private client: CriClient | undefined;
  private runtime: NonNullable<ContainerRef['runtime']> = 'cri';
  private connected = false;
  private healthReported: boolean | undefined;
  private reason: string;
  private loop: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private discovery: FileDiscovery | undefined;
  /** Waiters for the next listing (one that starts after they asked). */
  private next: { promise: Promise<void>; settle: () => void } | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly options: CriMetadataOptions,
    private readonly hooks: CriMetadataHooks,
  ) {
    this.reason = `CRI runtime at ${options.socket} not reached yet`;
    this.entries = new ContainerMetadataStore<CriContainerMetadata>({
      maxEntries: options.maxEntries,
      tombstoneTtlMs: options.tombstoneTtlMs,
      onSize: (size) => hooks.metrics.enrichmentCacheEntries.set({ component: hooks.component }, size),
      onEvict: (e) => {
        if (e.podKey && this.byPodKey.get(e.podKey) === e.id) this.byPodKey.delete(e.podKey);
      },
    });
  }

  /** Connects (waiting at most two request timeouts for the first listing) and keeps the cache fresh until stop. */
  async start(): Promise<void> {
    this.sweepTimer = setInterval(() => this.entries.sweep(), this.entries.sweepIntervalMs);
    this.sweepTimer.unref();
    if (this.options.logDirectory !== undefined) {
      this.discovery = new FileDiscovery(
        [`${this.options.logDirectory}/*/*/*.log`],
        [],
        (_dir, _filename, kind) => {
          // A file or directory appeared (or the watch was just set up): list now. Writes to logs ('change') do not.
          if (kind !== 'change') this.requestListing().catch(() => undefined);
        },
        this.hooks.logger,
      );
    }
    let firstSync!: () => void;
    const synced = new Promise<void>((r) => {
      firstSync = r;
    });
    this.loop = this.run(firstSync);
    await Promise.race([synced, sleep(this.options.requestTimeoutMs * 2, this.abort.signal)]);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    clearInterval(this.sweepTimer);
    this.discovery?.close();
    await this.loop;
    this.client?.close();
    this.next?.settle();
    this.hooks.running?.close();
  }

  get available(): boolean {
    return this.connected;
  }

  get unavailableReason(): string {
    return this.reason;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A CRI container is found by id (auditd pids, /var/log/containers links) or by its log path's pod identity.
   * Docker's containers are not this cache's. */
  keyOf(ref: ContainerRef): string | undefined {
    if (ref.runtime === 'docker') return undefined;
    if (ref.id) return ref.id;
    // Every line of a log file shares its path's ContainerRef: its key is built once, not per event.
    let key = this.pathKeys.get(ref);
    if (key === undefined) {
      const k8s = ref.k8s;
      key =
        k8s?.podUid && k8s.container && k8s.restartCount !== undefined
          ? podContainerKey(k8s.podUid, k8s.container, k8s.restartCount)
          : '';
      this.pathKeys.set(ref, key);
    }
    return key === '' ? undefined : key;
  }

  unidentified(ref: ContainerRef): string | undefined {
    if (ref.runtime === 'docker') return undefined;
    return 'log path does not follow the CRI layout <log dir>/<namespace>_<pod>_<pod uid>/<container>/<attempt>.log';
  }

  entry(key: string, now = Date.now()): CriContainerMetadata | undefined {
    const id = key.startsWith('pod:') ? this.byPodKey.get(key) : key;
    return id === undefined ? undefined : this.entries.get(id, now);
  }

  lookup(id: string): ContainerRef | undefined {
    return this.entries.get(id)?.ref;
  }

  isUnknown(key: string): boolean {
    return this.entries.isUnknown(key);
  }

  /** Lists once more for a container not held; remembers it as unknown when the listing does not have it either. */
  async resolve(key: string): Promise<CriContainerMetadata | undefined> {
    const held = this.entry(key);
    if (held || this.entries.isUnknown(key) || !this.connected) return held;
    await this.requestListing();
    const found = this.entry(key);
    if (!found && this.connected) this.entries.rememberUnknown(key);
    return found;
  }

  /** Resolves after a listing that started after this call (the listing loop runs it as soon as it can). */
  private requestListing(): Promise<void> {
    if (!this.next) {
      let settle!: () => void;
      const promise = new Promise<void>((r) => {
        settle = r;
      });
      this.next = { promise, settle };
      this.wake?.();
    }
    return this.next.promise;
  }

  /** Connect (Version), list, then list again on every request and every resync interval; on any failure mark
   * degraded, back off, and connect again with a new client. */
  private async run(firstSync: () => void): Promise<void> {
    const { metrics, component } = this.hooks;
    let attempt = 0;
    while (!this.abort.signal.aborted) {
      try {
        this.client = new CriClient(this.options.socket, this.options.requestTimeoutMs);
        await this.checkVersion(this.client);
        await this.list(this.client);
        this.connected = true;
        this.reportHealth(true);
        firstSync();
        attempt = 0;
        await this.follow(this.client);
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.connected = false;
        this.reason =
          err instanceof CriUnusable
            ? err.message
            : `CRI runtime unreachable at ${this.options.socket}: ${criErrorText(err)}`;
        this.reportHealth(false, this.reason);
        metrics.criReconnects.inc({ component });
        // Whoever waits for a listing learns now that there will be none for a while.
        const waiting = this.next;
        this.next = undefined;
        waiting?.settle();
      }
      this.client?.close();
      this.client = undefined;
      const wait = backoffDelay(attempt++, this.options.reconnect.initialMs, this.options.reconnect.maxMs);
      await sleep(wait, this.abort.signal);
    }
    this.connected = false;
  }

  private async checkVersion(client: CriClient): Promise<void> {
    let version: Awaited<ReturnType<CriClient['version']>>;
    try {
      version = await client.version();
    } catch (err) {
      // UNIMPLEMENTED: the socket answers gRPC but not runtime.v1 (a runtime older than Kubernetes 1.23's CRI).
      if ((err as { code?: number }).code === 12)
        throw new CriUnusable(`CRI runtime at ${this.options.socket} does not serve the runtime.v1 API`);
      throw err;
    }
    if (version.runtime_api_version !== CRI_API_VERSION)
      throw new CriUnusable(
        `CRI runtime at ${this.options.socket} answered API version ${JSON.stringify(version.runtime_api_version)}; Outrider speaks ${CRI_API_VERSION}`,
      );
    const runtime = runtimeFromName(version.runtime_name);
    if (runtime !== this.runtime || this.healthReported === undefined)
      this.hooks.logger.info('CRI runtime found', {
        socket: this.options.socket,
        runtime: version.runtime_name,
        version: version.runtime_version,
      });
    this.runtime = runtime;
  }

  /** Lists on request (a new log file, an event of an unknown container) and every resync interval. */
  private async follow(client: CriClient): Promise<void> {
    while (!this.abort.signal.aborted) {
      if (!this.next) {
        const woken = new Promise<void>((r) => {
          this.wake = r;
        });
        await Promise.race([woken, sleep(this.options.resyncIntervalMs, this.abort.signal)]);
        this.wake = undefined;
        if (this.abort.signal.aborted) return;
      }
      const waiting = this.next;
      this.next = undefined;
      try {
        await this.list(client);
      } finally {
        waiting?.settle();
      }
    }
  }

  /** Every sandbox and container; describes the containers not held (ContainerStatus); those held but no longer
   * listed were removed: they become tombstones. Tells the registry which run; refreshes the log-directory watches. */
  private async list(client: CriClient): Promise<void> {
    const discovered = this.discovery?.scan().catch(() => undefined);
    const askedAt = Date.now();
    const [sandboxes, containers] = await Promise.all([client.listPodSandbox(), client.listContainers()]);
    const pods = new Map(sandboxes.map((s) => [s.id, s]));
    const listed = new Set(containers.map((c) => c.id));
    const now = Date.now();
    for (const e of this.entries.values()) if (!listed.has(e.id) && e.removedAt === undefined) e.removedAt = now;
    const fresh = containers.filter((c) => this.entries.peek(c.id) === undefined);
    // A container described now is as its status says (it may have exited since the listing).
    const states = new Map(containers.map((c) => [c.id, c.state]));
    for (let i = 0; i < fresh.length; i += STATUS_CONCURRENCY)
      await Promise.all(
        fresh.slice(i, i + STATUS_CONCURRENCY).map(async (c) => states.set(c.id, await this.describe(client, c, pods))),
      );
    if (this.hooks.running) {
      const running: ContainerRef[] = [];
      for (const [id, state] of states) {
        const ref = state === 'CONTAINER_RUNNING' ? this.entries.peek(id)?.ref : undefined;
        if (ref) running.push(ref);
      }
      this.hooks.running.listed(running, askedAt, this.options.node);
    }
    await discovered;
  }

  /** Holds the container; returns its state as the runtime last told it. */
  private async describe(
    client: CriClient,
    listed: CriContainer,
    pods: Map<string, CriPodSandbox>,
  ): Promise<string | undefined> {
    // The status names the image as the pod spec or the runtime does (the listing often has only its id); a
    // container removed in between is described from the listing, and runs no more.
    const status = await client.containerStatus(listed.id);
    const sandboxId = listed.pod_sandbox_id ?? '';
    const sandbox = pods.get(sandboxId) ?? (sandboxId ? await client.podSandboxStatus(sandboxId) : undefined);
    this.remember({ ...(status ?? listed), id: listed.id }, sandbox);
    return status?.state;
  }

  /** Holds a container from the runtime's answers (the live path; benchmarks seed the cache with it too). */
  remember(container: CriContainer, sandbox: CriPodSandbox | undefined): CriContainerMetadata {
    const ref = containerRefFromCri(container, sandbox, {
      runtime: this.runtime,
      podLabels: this.options.podLabels,
      podAnnotations: this.options.podAnnotations,
      ...(this.options.node ? { node: this.options.node } : {}),
    });
    const k8s = ref.k8s;
    const podKey =
      k8s?.podUid && k8s.container && k8s.restartCount !== undefined
        ? podContainerKey(k8s.podUid, k8s.container, k8s.restartCount)
        : undefined;
    const entry: CriContainerMetadata = {
      id: container.id,
      ref,
      ocsf: containerObject(ref),
      inspected: true,
      touched: Date.now(),
    };
    if (podKey) {
      entry.podKey = podKey;
      this.byPodKey.set(podKey, container.id);
      this.entries.forgetUnknown(podKey);
    }
    this.entries.forgetUnknown(container.id);
    this.entries.set(entry);
    return entry;
  }

  private reportHealth(healthy: boolean, reason?: string): void {
    const { metrics, component, logger } = this.hooks;
    metrics.criApiUp.set({ component }, healthy ? 1 : 0);
    if (this.healthReported === healthy) return;
    this.healthReported = healthy;
    if (healthy) logger.info('CRI runtime reachable; container metadata enrichment active');
    else logger.warn('CRI runtime unusable; events are forwarded without container metadata', { reason });
    this.hooks.onHealth(healthy, reason);
  }
}

// The per-event half of container metadata enrichment, shared by docker_metadata and cri_metadata: look the event's
// container up in a cache (synchronously), attach the shared OCSF container object where OCSF 1.8 puts containers,
// wait (bounded) for a container not described yet, and say so on the event — never hold it back or drop it — when
// the runtime cannot describe it.
import { sleep } from '../core/backoff.ts';
import type { ComponentContext, Transform } from '../core/component.ts';
import { type ContainerRef, EncodedEnvelope, type Envelope } from '../core/envelope.ts';
import {
  attachContainer,
  containerObject,
  flagEnrichmentMissing,
  sharedContainerObject,
} from '../ocsf/mappers/container.ts';
import type { HeldContainer } from './metadata-store.ts';

/** `outrider_enrichment_lookups_total{result}`: hit, tombstone (already removed, still described), miss (unknown to
 * the runtime), unavailable (runtime unreachable), unidentified (the event does not say which container). */
export type LookupResult = 'hit' | 'tombstone' | 'miss' | 'unavailable' | 'unidentified';
const RESULTS: readonly LookupResult[] = ['hit', 'tombstone', 'miss', 'unavailable', 'unidentified'];

/** A metadata cache as the enricher sees it. Keys are whatever the cache finds containers by (`keyOf`). */
export interface ContainerMetadataSource<E extends HeldContainer> {
  /** Whether the runtime answers. */
  readonly available: boolean;
  /** Why it does not, when it does not (put on the events). */
  readonly unavailableReason: string;
  /** How the cache names the event's container; undefined when the event is not this cache's to describe, or when
   * it is but does not say which container (then `unidentified` explains). */
  keyOf(ref: ContainerRef): string | undefined;
  /** Why an event that is this cache's to describe names no container it can look up; undefined: not its event. */
  unidentified?(ref: ContainerRef): string | undefined;
  /** The held entry. Synchronous: this is the per-event path. */
  entry(key: string, now?: number): E | undefined;
  /** Whether the runtime said recently it does not know the container. */
  isUnknown(key: string): boolean;
  /** Asks the runtime (once, however many events wait) and settles when the cache knows what it will know. */
  resolve(key: string): Promise<unknown>;
}

export interface EnrichmentReasons {
  /** The container is held only from partial facts (e.g. Docker event attributes): it was gone before described. */
  removedBeforeDescribed: string;
  /** The runtime does not know the container. */
  unknown: string;
}

export class ContainerEnricher<E extends HeldContainer> {
  constructor(
    private readonly source: ContainerMetadataSource<E>,
    private readonly reasons: EnrichmentReasons,
    private readonly ctx: ComponentContext,
    private readonly maxWaitMs: number,
  ) {}

  process(events: Envelope[]): Envelope[] | Promise<Envelope[]> {
    const source = this.source;
    const now = Date.now();
    const counts: Record<LookupResult, number> = { hit: 0, tombstone: 0, miss: 0, unavailable: 0, unidentified: 0 };
    let waiting: Array<[Envelope, string]> | undefined;
    for (const envelope of events) {
      const ref = envelope.container;
      if (ref === undefined) continue;
      const key = source.keyOf(ref);
      if (key === undefined) {
        const problem = source.unidentified?.(ref);
        if (problem !== undefined) {
          counts.unidentified++;
          this.missing(envelope, problem);
        }
        continue;
      }
      const entry = source.entry(key, now);
      if (entry?.inspected) {
        counts[entry.removedAt === undefined ? 'hit' : 'tombstone']++;
        this.apply(envelope, entry);
      } else if (entry && source.isUnknown(key)) {
        counts.miss++;
        this.apply(envelope, entry);
        this.missing(envelope, this.reasons.removedBeforeDescribed);
      } else if (!source.available) {
        counts.unavailable++;
        if (entry) this.apply(envelope, entry);
        this.missing(envelope, source.unavailableReason);
      } else {
        waiting ??= [];
        waiting.push([envelope, key]);
      }
    }
    if (!waiting) {
      this.count(counts);
      return events;
    }
    return this.finish(events, waiting, counts);
  }

  /** Events of containers not yet described: wait (bounded) for their first description, then apply what is known. */
  private async finish(
    events: Envelope[],
    waiting: Array<[Envelope, string]>,
    counts: Record<LookupResult, number>,
  ): Promise<Envelope[]> {
    const source = this.source;
    const keys = new Set(waiting.map(([, key]) => key));
    await Promise.race([Promise.all([...keys].map((key) => source.resolve(key))), sleep(this.maxWaitMs)]);
    for (const [envelope, key] of waiting) {
      const entry = source.entry(key);
      if (entry?.inspected) {
        counts[entry.removedAt === undefined ? 'hit' : 'tombstone']++;
        this.apply(envelope, entry);
        continue;
      }
      counts[source.available ? 'miss' : 'unavailable']++;
      if (entry) this.apply(envelope, entry);
      this.missing(
        envelope,
        !source.available
          ? source.unavailableReason
          : entry
            ? this.reasons.removedBeforeDescribed
            : this.reasons.unknown,
      );
    }
    this.count(counts);
    return events;
  }

  private apply(envelope: Envelope, entry: E): void {
    const fromPath = envelope.container;
    let ref = entry.ref;
    let ocsf = entry.ocsf;
    // Kubernetes identity from a CRI log path fills what labels did not say (rare: the shared object otherwise).
    if (fromPath?.k8s && !ref.k8s) {
      ref = { ...ref, k8s: fromPath.k8s };
      ocsf = containerObject(ref);
    }
    // An event from a decode worker holds the path's bare container: its JSON is swapped without decoding it.
    const bare = fromPath && sharedContainerObject(fromPath);
    if (ocsf && bare && envelope instanceof EncodedEnvelope && envelope.swapContainer(bare, ocsf)) {
      envelope.container = ref;
      return;
    }
    envelope.container = ref;
    if (ocsf) attachContainer(envelope.event, ocsf, this.ctx.hostname);
    envelope.encoded = undefined;
  }

  private missing(envelope: Envelope, reason: string): void {
    const ref: ContainerRef = { ...envelope.container, enrichmentMissing: true };
    envelope.container = ref;
    const ocsf = containerObject(ref);
    if (ocsf) attachContainer(envelope.event, ocsf, this.ctx.hostname);
    flagEnrichmentMissing(envelope.event, reason);
    envelope.encoded = undefined;
  }

  private count(counts: Record<LookupResult, number>): void {
    const { metrics, name } = this.ctx;
    for (const result of RESULTS)
      if (counts[result] > 0) metrics.enrichmentLookups.inc({ component: name, result }, counts[result]);
  }
}

/** A metadata cache a transform owns: connected at start, stopped with it. */
export interface ContainerMetadataCache<E extends HeldContainer> extends ContainerMetadataSource<E> {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What docker_metadata and cri_metadata share as transforms: own a cache, report it degraded at start when the
 * runtime does not answer (events still flow, flagged), enrich every batch through a ContainerEnricher. */
export abstract class ContainerMetadataTransform<E extends HeldContainer, C extends ContainerMetadataCache<E>>
  implements Transform
{
  private cache: C | undefined;
  private enricher: ContainerEnricher<E> | undefined;

  constructor(
    private readonly reasons: EnrichmentReasons,
    private readonly maxWaitMs: number,
  ) {}

  /** The component's cache, told to report the runtime's health to the component. */
  protected abstract createCache(ctx: ComponentContext, onHealth: (healthy: boolean, reason?: string) => void): C;

  async start(ctx: ComponentContext): Promise<void> {
    const cache = this.createCache(ctx, (healthy, reason) => ctx.setHealthy(healthy, healthy ? undefined : reason));
    this.useCache(cache, ctx);
    await cache.start();
    if (!cache.available) ctx.setHealthy(false, cache.unavailableReason);
  }

  /** Uses an existing cache (benchmarks and tests that seed it without a runtime). */
  useCache(cache: C, ctx: ComponentContext): void {
    this.cache = cache;
    this.enricher = new ContainerEnricher(cache, this.reasons, ctx, this.maxWaitMs);
  }

  async stop(): Promise<void> {
    await this.cache?.stop();
  }

  process(events: Envelope[]): Envelope[] | Promise<Envelope[]> {
    return this.enricher!.process(events);
  }
}

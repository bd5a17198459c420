// What every container metadata cache (Docker Engine API, CRI) holds and how it stays bounded: containers by id,
// least recently used first out, removed containers kept as tombstones for a while (their last log lines and late
// audit records are read after they are gone), and ids the runtime said it does not know, remembered briefly so a
// stream of lines of such a container costs one question to the runtime, not one per line.
import type { ContainerRef } from '../core/envelope.ts';
import type { OcsfContainer } from '../ocsf/event.ts';

export interface HeldContainer {
  id: string;
  ref: ContainerRef;
  /** The OCSF container object for `ref`, built once and shared by every event of the container. */
  ocsf: OcsfContainer | undefined;
  /** True when described by the runtime itself (inspect, ContainerStatus) — or, for a Docker container removed
   * before it could be inspected, by its engine events and its image's inspect — not only guessed from an event. */
  inspected: boolean;
  /** Epoch ms the container was seen removed (a tombstone), if it was. */
  removedAt?: number;
  touched: number;
}

export interface MetadataStoreOptions<E> {
  /** Most containers held (live and tombstoned); least recently used go first. */
  maxEntries: number;
  /** How long a removed container stays described. */
  tombstoneTtlMs: number;
  /** Told the number of entries after every change (a gauge). */
  onSize(size: number): void;
  /** Told of every entry that leaves the store (evicted or expired), for the owner's indexes. */
  onEvict?(entry: E): void;
}

/** Unknown ids are not asked again for this long. */
const NOT_FOUND_TTL_MS = 5000;
const MAX_NOT_FOUND = 1024;
/** An entry's LRU position is refreshed at most this often (re-inserting into the Map on every event costs). */
const TOUCH_INTERVAL_MS = 1000;

export class ContainerMetadataStore<E extends HeldContainer> {
  private readonly entries = new Map<string, E>();
  private readonly notFound = new Map<string, number>();

  constructor(private readonly options: MetadataStoreOptions<E>) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry of a container, refreshing its LRU position. Synchronous: this is the per-event path. */
  get(id: string, now = Date.now()): E | undefined {
    const e = this.entries.get(id);
    if (e && now - e.touched > TOUCH_INTERVAL_MS) {
      e.touched = now;
      this.entries.delete(id);
      this.entries.set(id, e);
    }
    return e;
  }

  /** The entry without touching it (bookkeeping, not use). */
  peek(id: string): E | undefined {
    return this.entries.get(id);
  }

  values(): IterableIterator<E> {
    return this.entries.values();
  }

  /** Holds `entry` (replacing one of the same id), evicting the least recently used beyond the bound. */
  set(entry: E): void {
    this.entries.delete(entry.id);
    this.entries.set(entry.id, entry);
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.values().next().value!;
      this.entries.delete(oldest.id);
      this.options.onEvict?.(oldest);
    }
    this.options.onSize(this.entries.size);
  }

  /** Drops expired tombstones and expired unknown-id memos. */
  sweep(now = Date.now()): void {
    const ttl = this.options.tombstoneTtlMs;
    for (const [id, e] of this.entries)
      if (e.removedAt !== undefined && now - e.removedAt >= ttl) {
        this.entries.delete(id);
        this.options.onEvict?.(e);
      }
    for (const [key, until] of this.notFound) if (until <= now) this.notFound.delete(key);
    this.options.onSize(this.entries.size);
  }

  /** How often a sweep should run for tombstones to live about their time. */
  get sweepIntervalMs(): number {
    return Math.max(250, Math.min(this.options.tombstoneTtlMs / 2, 10_000));
  }

  /** Remembers that the runtime does not know `key` (a container id, or another key the owner asks by). */
  rememberUnknown(key: string, now = Date.now()): void {
    if (this.notFound.size >= MAX_NOT_FOUND) this.notFound.delete(this.notFound.keys().next().value!);
    this.notFound.set(key, now + NOT_FOUND_TTL_MS);
  }

  forgetUnknown(key: string): void {
    this.notFound.delete(key);
  }

  /** Whether the runtime said recently that it does not know `key`. */
  isUnknown(key: string, now = Date.now()): boolean {
    const until = this.notFound.get(key);
    return until !== undefined && until > now;
  }
}

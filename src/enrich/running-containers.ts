// Which containers run on this host now, findable by image: fed by the container metadata caches (the Docker Engine
// cache of docker_metadata; the CRI cache of cri_metadata), which see containers start and stop, and read by what
// joins other data to what runs (vulnerability_context joins scan findings per image digest). Read-only towards the
// runtimes: this only gathers what the caches already learn. One registry per pipeline (ComponentContext).
//
// Each runtime feeds its own view. A full listing replaces that view (a container that stopped while the feed was not
// watching leaves it), and marks the feed synced: until every feed has listed once, a container absent here may only
// be not known yet, so consumers must not conclude it stopped.
import type { ContainerRef } from '../core/envelope.ts';

export interface RunningContainer {
  /** The container as events describe it: id, name, runtime, image (id, repo digest), Kubernetes identity. */
  ref: ContainerRef & { id: string };
  /** The node it runs on, when the runtime says (else it is the host Outrider runs on). */
  node?: string;
  /** Epoch ms it was first seen running. */
  since: number;
}

export interface RunningChange {
  /** started: first seen running; updated: its description changed; stopped: no feed sees it running any more. */
  kind: 'started' | 'updated' | 'stopped';
  container: RunningContainer;
}

/** What a runtime's metadata cache tells the registry. `askedAt` is when the runtime was asked: an answer "running"
 * asked before a stop was reported is stale (a container that died while it was being inspected), and ignored. */
export interface ContainerFeed {
  /** The container runs (first seen, or seen again with a possibly new description). */
  running(ref: ContainerRef, askedAt: number, node?: string): void;
  /** The container stopped (exited, died, was removed). */
  stopped(id: string): void;
  /** A full listing of the runtime: exactly these run now. */
  listed(refs: ContainerRef[], askedAt: number, node?: string): void;
  /** The feed's owner stopped: its containers are forgotten silently (nobody can say they stopped). */
  close(): void;
}

/** The digests a container's image is known by (image id, repo digest): the keys scan findings are matched on. */
export function imageKeys(ref: ContainerRef): string[] {
  const keys: string[] = [];
  for (const k of [ref.image?.id, ref.image?.digest]) if (k?.startsWith('sha256:') && !keys.includes(k)) keys.push(k);
  return keys;
}

interface FeedView {
  runtime: string;
  containers: Map<string, RunningContainer>;
  /** When containers were last reported stopped (bounded), to tell a stale "running" answer. */
  stoppedAt: Map<string, number>;
  synced: boolean;
}

const MAX_STOPS_REMEMBERED = 4096;

export class RunningContainers {
  private readonly feeds = new Set<FeedView>();
  /** Every running container, with how many feeds see it. */
  private readonly containers = new Map<string, { container: RunningContainer; feeds: number }>();
  private readonly byImage = new Map<string, Set<string>>();
  private readonly listeners = new Set<(change: RunningChange) => void>();

  /** A feed for one runtime's cache ("docker", "cri"). */
  feed(runtime: string): ContainerFeed {
    const view: FeedView = { runtime, containers: new Map(), stoppedAt: new Map(), synced: false };
    this.feeds.add(view);
    return {
      running: (ref, askedAt, node) => this.run(view, ref, askedAt, node),
      stopped: (id) => {
        view.stoppedAt.delete(id);
        view.stoppedAt.set(id, Date.now());
        if (view.stoppedAt.size > MAX_STOPS_REMEMBERED) view.stoppedAt.delete(view.stoppedAt.keys().next().value!);
        this.stop(view, id, true);
      },
      listed: (refs, askedAt, node) => {
        const ids = new Set<string>();
        for (const ref of refs) {
          if (!ref.id) continue;
          ids.add(ref.id);
          this.run(view, ref, askedAt, node);
        }
        for (const id of [...view.containers.keys()]) if (!ids.has(id)) this.stop(view, id, true);
        view.synced = true;
      },
      close: () => {
        for (const id of [...view.containers.keys()]) this.stop(view, id, false);
        this.feeds.delete(view);
      },
    };
  }

  /** Whether any runtime feeds the registry. */
  get fed(): boolean {
    return this.feeds.size > 0;
  }

  /** True once every feed listed its runtime's containers at least once (and there is a feed). */
  get synced(): boolean {
    if (this.feeds.size === 0) return false;
    for (const f of this.feeds) if (!f.synced) return false;
    return true;
  }

  get(id: string): RunningContainer | undefined {
    return this.containers.get(id)?.container;
  }

  /** Running containers whose image has one of these digests (image id or repo digest). */
  withImage(keys: readonly string[]): RunningContainer[] {
    const ids = new Set<string>();
    for (const k of keys) for (const id of this.byImage.get(k) ?? []) ids.add(id);
    return [...ids].map((id) => this.containers.get(id)!.container);
  }

  /** Calls `listener` on every change, synchronously; returns the unsubscribe function. */
  subscribe(listener: (change: RunningChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private run(view: FeedView, ref: ContainerRef, askedAt: number, node: string | undefined): void {
    const id = ref.id;
    if (!id) return;
    const stopped = view.stoppedAt.get(id);
    if (stopped !== undefined && stopped >= askedAt) return;
    const previous = view.containers.get(id);
    const held = this.containers.get(id);
    const container: RunningContainer = {
      ref: { ...ref, id },
      since: held?.container.since ?? Date.now(),
      ...(node ? { node } : {}),
    };
    view.containers.set(id, container);
    if (!held) {
      this.containers.set(id, { container, feeds: 1 });
      this.index(container, true);
      this.notify({ kind: 'started', container });
      return;
    }
    if (!previous) held.feeds++;
    if (sameDescription(held.container, container)) return;
    this.index(held.container, false);
    held.container = container;
    this.index(container, true);
    this.notify({ kind: 'updated', container });
  }

  private stop(view: FeedView, id: string, notify: boolean): void {
    if (!view.containers.delete(id)) return;
    const held = this.containers.get(id);
    if (!held || --held.feeds > 0) return;
    this.containers.delete(id);
    this.index(held.container, false);
    if (notify) this.notify({ kind: 'stopped', container: held.container });
  }

  private index(container: RunningContainer, add: boolean): void {
    for (const key of imageKeys(container.ref)) {
      let ids = this.byImage.get(key);
      if (add) {
        if (!ids) {
          ids = new Set();
          this.byImage.set(key, ids);
        }
        ids.add(container.ref.id);
      } else if (ids) {
        ids.delete(container.ref.id);
        if (ids.size === 0) this.byImage.delete(key);
      }
    }
  }

  private notify(change: RunningChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

function sameDescription(a: RunningContainer, b: RunningContainer): boolean {
  return a.node === b.node && JSON.stringify(a.ref) === JSON.stringify(b.ref);
}

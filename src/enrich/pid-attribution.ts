// Which container a host process belongs to, from /proc/<pid>/cgroup. Audit records carry a pid but no container;
// the kernel's cgroup membership is the one fact that ties the two together without asking the runtime.
//
// Use (e.g. from an auditd mapper):
//   const attribution = new PidAttribution({ metadata: dockerCache });   // metadata is optional
//   const result = attribution.attribute(pid);
//   if (result.kind === 'container') event.process.container = containerObject(result.container);
//   else if (result.kind === 'gone') …say the process had exited before it could be attributed; never guess.
// or, where only a `(pid) => ContainerRef | undefined` is wanted: `attribution.containerOf`.
import { readFileSync } from 'node:fs';
import type { ContainerRef } from '../core/envelope.ts';

const HEX64 = '[0-9a-f]{64}';
// The last path segment of a container's cgroup, for every driver and runtime layout we know:
//   cgroupfs:  /docker/<id>, /kubepods/burstable/pod<uid>/<id>, /default/<id> (containerd namespaces)
//   systemd:   /system.slice/docker-<id>.scope, …/kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope,
//              crio-<id>.scope, libpod-<id>.scope (podman)
const CONTAINER_SEGMENT = new RegExp(`(?:^|/)(docker-|cri-containerd-|crio-|libpod-)?(${HEX64})(?:\\.scope)?$`);
// Pod UID, as a cgroupfs directory `pod<uid>` or a systemd slice `kubepods-<qos>-pod<uid_with_underscores>.slice`.
const POD_SEGMENT =
  /\/(?:kubepods[^/]*-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?\//;

export interface CgroupContainer {
  id: string;
  runtime: NonNullable<ContainerRef['runtime']>;
  podUid?: string;
}

/** The container named by a /proc/<pid>/cgroup text (v1 `N:controllers:/path` lines or v2 `0::/path`), or
 * undefined for a host process. Nested containers (docker in docker) give the innermost one. */
export function containerFromCgroup(text: string): CgroupContainer | undefined {
  for (const line of text.split('\n')) {
    const second = line.indexOf(':', line.indexOf(':') + 1);
    if (second < 0) continue;
    const path = line.slice(second + 1).trim();
    const m = CONTAINER_SEGMENT.exec(path);
    if (!m) continue;
    const prefix = m[1];
    const pod = POD_SEGMENT.exec(path);
    const kubernetes = pod !== null || path.includes('/kubepods');
    const runtime: CgroupContainer['runtime'] =
      prefix === 'cri-containerd-'
        ? 'containerd'
        : prefix === 'crio-'
          ? 'cri-o'
          : prefix === 'docker-' || path.includes('/docker/')
            ? 'docker'
            : kubernetes
              ? 'cri'
              : 'containerd';
    const result: CgroupContainer = { id: m[2]!, runtime };
    if (pod) result.podUid = pod[1]!.replaceAll('_', '-');
    return result;
  }
  return undefined;
}

export type PidAttributionResult =
  | { kind: 'container'; container: ContainerRef }
  /** The process runs on the host, outside any container. */
  | { kind: 'host' }
  /** The process no longer exists (it exited before it was looked up): its container cannot be known. */
  | { kind: 'gone' };

/** A source of full container metadata by id (the Docker metadata cache implements it). */
export interface ContainerLookup {
  lookup(id: string): ContainerRef | undefined;
}

export interface PidAttributionOptions {
  /** Root of the proc file system (tests point it elsewhere). */
  procRoot?: string;
  /** Most pids remembered. */
  maxEntries?: number;
  /** How long an answer is reused: pids are recycled, so not for long. */
  ttlMs?: number;
  /** Fills name, image, labels and Kubernetes identity when the runtime knows the container. */
  metadata?: ContainerLookup;
}

interface Remembered {
  result: PidAttributionResult;
  until: number;
}

/** pid → container attribution with a small time-bounded cache. Synchronous: /proc reads take microseconds. */
export class PidAttribution {
  private readonly cache = new Map<number, Remembered>();
  private readonly procRoot: string;
  private readonly maxEntries: number;
  private readonly ttlMs: number;

  constructor(private readonly options: PidAttributionOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.maxEntries = options.maxEntries ?? 4096;
    this.ttlMs = options.ttlMs ?? 2000;
  }

  attribute(pid: number, now = Date.now()): PidAttributionResult {
    if (!Number.isInteger(pid) || pid <= 0) return { kind: 'gone' };
    const hit = this.cache.get(pid);
    if (hit && hit.until > now) return hit.result;
    let text: string;
    try {
      text = readFileSync(`${this.procRoot}/${pid}/cgroup`, 'utf8');
    } catch {
      // A gone process is not cached: the pid may be reused by a new process at any moment.
      this.cache.delete(pid);
      return { kind: 'gone' };
    }
    const found = containerFromCgroup(text);
    let result: PidAttributionResult = { kind: 'host' };
    if (found) {
      const known = this.options.metadata?.lookup(found.id);
      const container: ContainerRef = known ?? { id: found.id, runtime: found.runtime };
      if (!known && found.podUid) container.k8s = { podUid: found.podUid };
      result = { kind: 'container', container };
    }
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.delete(pid);
    this.cache.set(pid, { result, until: now + this.ttlMs });
    return result;
  }

  /** The container of a pid, or undefined for host processes and for pids that are gone (use `attribute` to tell
   * the two apart). */
  readonly containerOf = (pid: number): ContainerRef | undefined => {
    const r = this.attribute(pid);
    return r.kind === 'container' ? r.container : undefined;
  };
}

// Pure functions from Docker Engine API inspect documents (GET /containers/{id}/json, GET /images/{id}/json) to what
// Outrider reports: the ContainerRef of every event, and the security-relevant facts of a container start.
import type { ContainerRef } from '../core/envelope.ts';
import { filterLabels, type LabelFilter } from './label-filter.ts';

/** The parts of a container inspect document Outrider reads (older engines omit some). */
export interface InspectedContainer {
  Id: string;
  Name?: string;
  Image?: string;
  Path?: string;
  Args?: string[];
  State?: { Status?: string; Running?: boolean; Pid?: number; ExitCode?: number; OOMKilled?: boolean };
  Config?: { Image?: string; Labels?: Record<string, string> | null; User?: string };
  HostConfig?: {
    Privileged?: boolean;
    CapAdd?: string[] | null;
    CapDrop?: string[] | null;
    PidMode?: string;
    NetworkMode?: string;
    IpcMode?: string;
    UTSMode?: string;
    UsernsMode?: string;
    SecurityOpt?: string[] | null;
    Devices?: Array<{ PathOnHost?: string; PathInContainer?: string }> | null;
    ReadonlyRootfs?: boolean;
  };
  Mounts?: Array<{ Type?: string; Source?: string; Destination?: string; RW?: boolean }> | null;
}

/** The parts of an image inspect document Outrider reads. */
export interface InspectedImage {
  Id: string;
  /** When the image was built (RFC 3339). */
  Created?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
}

export const K8S_LABELS = {
  pod: 'io.kubernetes.pod.name',
  namespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  container: 'io.kubernetes.container.name',
} as const;

const IMAGE_ID = /^(?:sha256:)?[0-9a-f]{12,64}$/;

/** `registry:5000/team/app:1.2@sha256:…` → name, tag, digest. An image given by id has no name. */
export function parseImageReference(reference: string): { name?: string; tag?: string; digest?: string } {
  if (IMAGE_ID.test(reference)) return {};
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  // Docker's own rule: a reference without tag or digest means :latest.
  if (!tag && !digest) tag = 'latest';
  return { name: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** Kubernetes identity from `io.kubernetes.*` labels (set by the kubelet's dockershim / cri-dockerd). */
export function k8sFromLabels(labels: Record<string, string> | null | undefined): ContainerRef['k8s'] | undefined {
  if (!labels) return undefined;
  const k8s: NonNullable<ContainerRef['k8s']> = {};
  const pod = labels[K8S_LABELS.pod];
  const namespace = labels[K8S_LABELS.namespace];
  const podUid = labels[K8S_LABELS.podUid];
  const container = labels[K8S_LABELS.container];
  if (pod) k8s.pod = pod;
  if (namespace) k8s.namespace = namespace;
  if (podUid) k8s.podUid = podUid;
  if (container) k8s.container = container;
  return Object.keys(k8s).length > 0 ? k8s : undefined;
}

/** What an event says about its container, from an inspect document (and its image's, when read). */
export function containerRefFromInspect(
  info: InspectedContainer,
  image: InspectedImage | undefined,
  labels: LabelFilter,
): ContainerRef {
  const ref: ContainerRef = { id: info.Id, runtime: 'docker' };
  if (info.Name) ref.name = info.Name.replace(/^\//, '');
  const img = containerImage(info.Config?.Image, info.Image ?? image?.Id, image);
  if (img) ref.image = img;
  const copied = filterLabels(info.Config?.Labels, labels);
  if (Object.keys(copied).length > 0) ref.labels = copied;
  const k8s = k8sFromLabels(info.Config?.Labels);
  if (k8s) ref.k8s = k8s;
  return ref;
}

/** A container's image: its id, the name and tag it was configured with (else the image's first repo tag), and the
 * repo digest of that name (else the image's first). */
export function containerImage(
  configured: string | undefined,
  imageId: string | undefined,
  image: InspectedImage | undefined,
): ContainerRef['image'] | undefined {
  const parsed = configured ? parseImageReference(configured) : {};
  const named = parsed.name ? parsed : image?.RepoTags?.[0] ? parseImageReference(image.RepoTags[0]) : {};
  const img: NonNullable<ContainerRef['image']> = {};
  if (imageId) img.id = imageId;
  if (named.name) img.name = named.name;
  if (named.tag) img.tag = named.tag;
  const digest =
    named.digest ??
    image?.RepoDigests?.find((d) => named.name && d.startsWith(`${named.name}@`))?.split('@')[1] ??
    image?.RepoDigests?.[0]?.split('@')[1];
  if (digest) img.digest = digest;
  return Object.keys(img).length > 0 ? img : undefined;
}

/** What an engine event's own attributes say about its container (name, image reference, labels): the fallback
 * when the container was gone before it could be inspected. */
export function containerRefFromEventAttributes(
  id: string,
  attributes: Record<string, string>,
  labels: LabelFilter,
): ContainerRef {
  const ref: ContainerRef = { id, runtime: 'docker' };
  if (attributes.name) ref.name = attributes.name;
  if (attributes.image) {
    const parsed = parseImageReference(attributes.image);
    if (parsed.name) ref.image = parsed;
  }
  // Event attributes mix labels with the engine's own keys (name, image, exitCode, signal, execID).
  const { name: _n, image: _i, exitCode: _e, signal: _s, execID: _x, ...rest } = attributes;
  const copied = filterLabels(rest, labels);
  if (Object.keys(copied).length > 0) ref.labels = copied;
  const k8s = k8sFromLabels(rest);
  if (k8s) ref.k8s = k8s;
  return ref;
}

/** Security-relevant facts of a container's configuration, from its inspect document. */
export interface DockerSecurityFacts {
  privileged: boolean;
  cap_add: string[];
  host_pid: boolean;
  host_network: boolean;
  host_ipc: boolean;
  host_uts: boolean;
  host_userns: boolean;
  /** Bind mounts of host paths (all of them; `sensitive` marks those under SENSITIVE_HOST_PATHS). */
  host_mounts: Array<{ source: string; destination: string; read_only: boolean; sensitive: boolean }>;
  devices: string[];
  /** `seccomp=unconfined`, `apparmor=unconfined`, `no-new-privileges`... as given. */
  security_opt: string[];
  user?: string;
}

/** Host paths whose bind mount gives a container power over the host (or its secrets, or the engine itself). */
export const SENSITIVE_HOST_PATHS = [
  '/',
  '/etc',
  '/root',
  '/home',
  '/boot',
  '/proc',
  '/sys',
  '/dev',
  '/run',
  '/var/run',
  '/var/lib/docker',
  '/var/lib/containerd',
  '/var/lib/kubelet',
  '/var/log',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
];

function isSensitiveHostPath(path: string): boolean {
  const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (p === '/') return true;
  return SENSITIVE_HOST_PATHS.some((s) => s !== '/' && (p === s || p.startsWith(`${s}/`)));
}

/** Capabilities that amount to (or easily lead to) host root. */
const DANGEROUS_CAPS = new Set([
  'ALL',
  'SYS_ADMIN',
  'SYS_MODULE',
  'SYS_PTRACE',
  'SYS_RAWIO',
  'DAC_READ_SEARCH',
  'NET_ADMIN',
  'SYS_BOOT',
  'BPF',
  'PERFMON',
]);

export function securityFactsFromInspect(info: InspectedContainer): DockerSecurityFacts {
  const hc = info.HostConfig ?? {};
  const facts: DockerSecurityFacts = {
    privileged: hc.Privileged === true,
    cap_add: (hc.CapAdd ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, '')),
    host_pid: hc.PidMode === 'host',
    host_network: hc.NetworkMode === 'host',
    host_ipc: hc.IpcMode === 'host',
    host_uts: hc.UTSMode === 'host',
    host_userns: hc.UsernsMode === 'host',
    host_mounts: (info.Mounts ?? [])
      .filter((m) => m.Type === 'bind' && m.Source)
      .map((m) => ({
        source: m.Source!,
        destination: m.Destination ?? '',
        read_only: m.RW === false,
        sensitive: isSensitiveHostPath(m.Source!),
      })),
    devices: (hc.Devices ?? []).map((d) => d.PathOnHost ?? '').filter(Boolean),
    security_opt: hc.SecurityOpt ?? [],
  };
  if (info.Config?.User) facts.user = info.Config.User;
  return facts;
}

/** Analyst-filterable labels for the risky facts (`privileged`, `cap_add:SYS_ADMIN`, `host_mount:/etc`…) and the
 * severity they warrant: 4 High for what amounts to host root, 3 Medium for other widened isolation, else none. */
export function securityLabels(facts: DockerSecurityFacts): { labels: string[]; severityId: number | undefined } {
  const labels: string[] = [];
  let high = false;
  let medium = false;
  if (facts.privileged) {
    labels.push('privileged');
    high = true;
  }
  for (const cap of facts.cap_add) {
    labels.push(`cap_add:${cap}`);
    if (DANGEROUS_CAPS.has(cap)) high = true;
    else medium = true;
  }
  const namespaces: Array<[boolean, string]> = [
    [facts.host_pid, 'host_pid'],
    [facts.host_network, 'host_network'],
    [facts.host_ipc, 'host_ipc'],
    [facts.host_uts, 'host_uts'],
    [facts.host_userns, 'host_userns'],
  ];
  for (const [set, label] of namespaces) {
    if (!set) continue;
    labels.push(label);
    if (label === 'host_pid') high = true;
    else medium = true;
  }
  for (const m of facts.host_mounts) {
    if (!m.sensitive) continue;
    labels.push(`host_mount:${m.source}`);
    if (!m.read_only || m.source === '/' || m.source.endsWith('docker.sock')) high = true;
    else medium = true;
  }
  for (const d of facts.devices) {
    labels.push(`device:${d}`);
    medium = true;
  }
  for (const opt of facts.security_opt) {
    if (/unconfined/.test(opt)) {
      labels.push(opt.replace('=', ':'));
      medium = true;
    }
  }
  return { labels, severityId: high ? 4 : medium ? 3 : undefined };
}

/** Labels copied by default: the well-known app / image / compose descriptors. Arbitrary labels are not copied
 * unless configured, because some deployments pass credentials as labels. `io.kubernetes.*` labels are not copied:
 * the Kubernetes identity they carry is always read from them into `k8s` (→ container tags and pod_uuid), and the
 * rest (hashes, termination paths, sandbox ids) would only make every event longer. */
export const DEFAULT_LABEL_FILTER: LabelFilter = {
  keys: [],
  prefixes: ['app.kubernetes.io/', 'org.opencontainers.image.', 'com.docker.compose.'],
};

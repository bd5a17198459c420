// Which container Outrider itself runs in, so a container_logs source can leave its own log file alone: each line
// Outrider logs about a line it read would otherwise be read again (at debug level, a loop that never ends).
import { readFileSync } from 'node:fs';

export interface OwnContainer {
  /** The container id (64 hex digits), when the runtime shows it. */
  id?: string;
  /** The Kubernetes pod uid, when the kubelet's mounts show it. */
  podUid?: string;
}

/** Files the runtime bind-mounts into every container from its own directory for it. */
const RUNTIME_FILES = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
const CONTAINER_DIR_FILE = /\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf)$/;
const KUBELET_POD_DIR = /\/pods\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\//;
const CGROUP_ID = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$/;

/**
 * The container (and pod) described by /proc/self/mountinfo and /proc/self/cgroup. Docker bind-mounts
 * /etc/hostname, /etc/hosts and /etc/resolv.conf from /var/lib/docker/containers/<id>/ (whatever the cgroup version
 * or namespace); the kubelet mounts /etc/hosts from /var/lib/kubelet/pods/<pod uid>/; on cgroup v1 the cgroup path
 * ends with the container id (docker, containerd, CRI-O).
 */
export function ownContainerFrom(mountinfo: string, cgroup: string): OwnContainer {
  const own: OwnContainer = {};
  for (const line of mountinfo.split('\n')) {
    // <id> <parent> <major:minor> <root> <mount point> …
    const fields = line.split(' ');
    const root = fields[3];
    if (root === undefined || !RUNTIME_FILES.has(fields[4] ?? '')) continue;
    own.id ??= CONTAINER_DIR_FILE.exec(root)?.[1];
    own.podUid ??= KUBELET_POD_DIR.exec(root)?.[1];
  }
  if (!own.id) {
    for (const line of cgroup.split('\n')) {
      // <hierarchy id>:<controllers>:<path>
      own.id = CGROUP_ID.exec(line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1))?.[1];
      if (own.id) break;
    }
  }
  return own;
}

/** The container this process runs in, or {} outside a container (or when /proc says nothing). */
export function ownContainer(proc = '/proc/self'): OwnContainer {
  const read = (f: string) => {
    try {
      return readFileSync(`${proc}/${f}`, 'utf8');
    } catch {
      return '';
    }
  };
  return ownContainerFrom(read('mountinfo'), read('cgroup'));
}

/** Exclude globs for the log files of `own`: Docker json-file logs (rotated ones too), kubelet's CRI log links and
 * the pod's log directory. */
export function ownLogExcludes(own: OwnContainer): string[] {
  const out: string[] = [];
  if (own.id) out.push(`**/${own.id}-json.log*`, `**/*-${own.id}.log`);
  if (own.podUid) out.push(`**/*_*_${own.podUid}/**`);
  return out;
}

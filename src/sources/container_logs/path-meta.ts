// What a log file's path says about its container, before (or without) asking the runtime. Every container log gets a
// ContainerRef, an empty one when its path follows no known layout: a metadata transform can then tell "a container
// I cannot identify" (flagged) from "not a container's event" (left alone).
import { basename } from 'node:path';
import type { ContainerRef } from '../../core/envelope.ts';

const HEX64 = /^[0-9a-f]{64}$/;
// /var/lib/docker/containers/<id>/<id>-json.log, or the file alone wherever it was copied (evidence, a moved data
// root): the file name carries the id.
const DOCKER_JSON = /(?:^|\/)([0-9a-f]{64})-json\.log(?:\.\d+)?$/;
// /var/log/pods/<namespace>_<pod>_<pod-uid>/<container>/<restart>.log (rotated: <restart>.log.<time>[.gz])
const CRI_POD_DIR = /\/([^/_]+)_([^/_]+)_([^/_]+)\/([^/]+)\/(\d{1,9})\.log(?:\.[^/]*)?$/;
// /var/log/containers/<pod>_<namespace>_<container>-<container-id>.log (kubelet's symlinks)
const CRI_CONTAINERS_LINK = /^([^_]+)_([^_]+)_(.+)-([0-9a-f]{64})\.log$/;

export function containerFromPath(path: string): ContainerRef {
  const docker = DOCKER_JSON.exec(path);
  if (docker) return { id: docker[1]!, runtime: 'docker' };
  const pod = CRI_POD_DIR.exec(path);
  if (pod) {
    const k8s = { namespace: pod[1]!, pod: pod[2]!, podUid: pod[3]!, container: pod[4]!, restartCount: Number(pod[5]) };
    return { runtime: 'cri', k8s };
  }
  const link = CRI_CONTAINERS_LINK.exec(basename(path));
  if (link && HEX64.test(link[4]!)) {
    return { id: link[4]!, runtime: 'cri', k8s: { pod: link[1]!, namespace: link[2]!, container: link[3]! } };
  }
  return {};
}

// Pure functions from CRI answers (ContainerStatus / ListContainers, the pod sandbox) to the ContainerRef of every
// event of that container.
import type { ContainerRef } from '../core/envelope.ts';
import type { CriContainer, CriPodSandbox } from './cri-client.ts';
import { k8sFromLabels, parseImageReference } from './docker-inspect.ts';
import { filterLabels, type LabelFilter } from './label-filter.ts';

export interface CriDescribeOptions {
  runtime: NonNullable<ContainerRef['runtime']>;
  podLabels: LabelFilter;
  podAnnotations: LabelFilter;
  /** The node's name (NODE_NAME from the downward API, or configured). */
  node?: string;
}

/** The ContainerRef runtime of a CRI runtime's name (VersionResponse.runtime_name). */
export function runtimeFromName(name: string): NonNullable<ContainerRef['runtime']> {
  const n = name.toLowerCase();
  return n === 'containerd' ? 'containerd' : n === 'cri-o' ? 'cri-o' : 'cri';
}

/** How a container is found from its log path's identity: pod UID, container name and attempt (kubelet writes the
 * log of attempt N to `<log dir>/<ns>_<pod>_<uid>/<container>/N.log`). */
export function podContainerKey(podUid: string, container: string, attempt: number): string {
  return `pod:${podUid}/${container}/${attempt}`;
}

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/**
 * The image: `id` (OCSF image.uid) is the digest of `image_ref` (`repo@sha256:…` for an image pulled from a registry:
 * then also `digest`; else the image id `sha256:…`); name and tag from what the pod spec said (user_specified_image,
 * where the runtime reports it), else what the runtime reports (containerd: the image's first repo tag), else the
 * repository of image_ref.
 */
export function criImage(container: CriContainer): ContainerRef['image'] | undefined {
  const imageRef = container.image_ref ?? '';
  const at = imageRef.lastIndexOf('@');
  const refDigest = at >= 0 ? imageRef.slice(at + 1) : undefined;
  let named: { name?: string; tag?: string; digest?: string } = {};
  for (const spec of [container.image?.user_specified_image, container.image?.image]) {
    if (!spec) continue;
    const parsed = parseImageReference(spec);
    if (parsed.name) {
      named = parsed;
      break;
    }
  }
  if (!named.name && at > 0) named = { name: imageRef.slice(0, at) };
  const spec = container.image?.image ?? '';
  const id = refDigest ?? (IMAGE_ID.test(imageRef) ? imageRef : IMAGE_ID.test(spec) ? spec : undefined);
  const image: NonNullable<ContainerRef['image']> = {};
  if (id) image.id = id;
  if (named.name) image.name = named.name;
  if (named.tag) image.tag = named.tag;
  const digest = refDigest ?? named.digest;
  if (digest) image.digest = digest;
  return Object.keys(image).length > 0 ? image : undefined;
}

/** What an event says about a CRI container: the runtime's answer, its pod sandbox (identity, allow-listed labels and
 * annotations) and the node. Without the sandbox, pod identity comes from kubelet's io.kubernetes.* labels. */
export function containerRefFromCri(
  container: CriContainer,
  sandbox: CriPodSandbox | undefined,
  options: CriDescribeOptions,
): ContainerRef {
  const ref: ContainerRef = { id: container.id, runtime: options.runtime };
  const name = container.metadata?.name;
  if (name) ref.name = name;
  const image = criImage(container);
  if (image) ref.image = image;
  const labels = filterLabels(sandbox?.labels, options.podLabels);
  if (Object.keys(labels).length > 0) ref.labels = labels;
  const k8s: NonNullable<ContainerRef['k8s']> = { ...k8sFromLabels(sandbox?.labels ?? container.labels) };
  const pod = sandbox?.metadata;
  if (pod?.namespace) k8s.namespace = pod.namespace;
  if (pod?.name) k8s.pod = pod.name;
  if (pod?.uid) k8s.podUid = pod.uid;
  if (name) k8s.container = name;
  if (container.metadata) k8s.restartCount = container.metadata.attempt;
  if (options.node) k8s.node = options.node;
  const annotations = filterLabels(sandbox?.annotations, options.podAnnotations);
  if (Object.keys(annotations).length > 0) k8s.annotations = annotations;
  ref.k8s = k8s;
  return ref;
}

/** Pod labels copied by default: the common workload descriptors. Annotations are not copied by default (they hold
 * whole applied configurations, checksums, sometimes credentials). */
export const DEFAULT_POD_LABEL_FILTER: LabelFilter = {
  keys: ['app', 'k8s-app', 'component', 'tier', 'version'],
  prefixes: ['app.kubernetes.io/'],
};
export const DEFAULT_POD_ANNOTATION_FILTER: LabelFilter = { keys: [], prefixes: [] };

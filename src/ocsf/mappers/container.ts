// The one place a ContainerRef becomes an OCSF `container` object. Kubernetes names go to `container.tags` under the
// OpenTelemetry semantic-convention keys (the same keys as the OTLP resource, src/enrich/resource-attributes.ts), so
// SIEM queries use one vocabulary.
import type { ContainerRef } from '../../core/envelope.ts';
import { OTEL } from '../../enrich/resource-attributes.ts';
import { addProfiles, type OcsfContainer, type OcsfEvent } from '../event.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256 = /^sha256:([0-9a-f]{64})$/;
/** OCSF fingerprint algorithm_id for SHA-256. */
const SHA256_ALGORITHM_ID = 3;

/** Every line of one file carries the same ContainerRef: its OCSF object is built once. Events share it, so code
 * that changes an event's container replaces the object rather than mutating it (and its JSON can be cached and
 * found again by identity: docker_metadata swaps it inside encoded events). */
const sharedObjects = new WeakMap<ContainerRef, OcsfContainer | undefined>();
export function sharedContainerObject(ref: ContainerRef): OcsfContainer | undefined {
  if (!sharedObjects.has(ref)) sharedObjects.set(ref, containerObject(ref));
  return sharedObjects.get(ref);
}

export function containerObject(ref: ContainerRef): OcsfContainer | undefined {
  const k8s = ref.k8s;
  const container: OcsfContainer = {};
  if (ref.id) container.uid = ref.id;
  if (ref.name) container.name = ref.name;
  else if (!ref.id && k8s?.container) container.name = k8s.container;
  if (!container.uid && !container.name) return undefined;
  const image = ref.image;
  // OCSF requires image.uid whenever image is present: without the image id we report no image object.
  if (image?.id) {
    const img: NonNullable<OcsfContainer['image']> = { uid: image.id };
    if (image.name) img.name = image.name;
    if (image.tag) img.tags = [{ name: 'tag', value: image.tag }];
    container.image = img;
  }
  const digest = image?.digest ? SHA256.exec(image.digest) : null;
  if (digest) container.hash = { algorithm_id: SHA256_ALGORITHM_ID, algorithm: 'SHA-256', value: digest[1]! };
  if (ref.runtime) container.runtime = ref.runtime;
  if (k8s) container.orchestrator = 'Kubernetes';
  if (k8s?.podUid && UUID.test(k8s.podUid)) container.pod_uuid = k8s.podUid;
  if (ref.labels && Object.keys(ref.labels).length > 0) {
    container.labels = Object.entries(ref.labels).map(([k, v]) => `${k}=${v}`);
  }
  const tags: Array<{ name: string; value: string }> = [];
  if (k8s?.namespace) tags.push({ name: OTEL.k8sNamespace, value: k8s.namespace });
  if (k8s?.pod) tags.push({ name: OTEL.k8sPodName, value: k8s.pod });
  if (k8s?.container) tags.push({ name: OTEL.k8sContainerName, value: k8s.container });
  if (k8s?.podUid) tags.push({ name: OTEL.k8sPodUid, value: k8s.podUid });
  if (k8s?.restartCount !== undefined)
    tags.push({ name: OTEL.k8sContainerRestartCount, value: String(k8s.restartCount) });
  if (k8s?.node) tags.push({ name: OTEL.k8sNodeName, value: k8s.node });
  for (const [key, value] of Object.entries(k8s?.annotations ?? {}))
    tags.push({ name: OTEL.k8sPodAnnotationPrefix + key, value });
  if (tags.length > 0) container.tags = tags;
  return container;
}

/** Categories whose `device` / `actor` are core attributes; elsewhere they come with the `host` profile. */
const SYSTEM_ACTIVITY_CATEGORY = 1;
const DETECTION_FINDING_CLASS = 2004;
const PROCESS_ACTIVITY_CLASS = 1007;

/**
 * Puts a container where OCSF 1.8 wants it: `device.container` always, plus `process.container` and
 * `actor.process.container` in Process Activity; declares the `container` profile (and `host` where `device` needs
 * it). `container` may be a shared, precomputed object: it is not copied, and must not be changed afterwards.
 */
export function attachContainer(event: OcsfEvent, container: OcsfContainer, hostname: string): void {
  let device = event.device as Record<string, unknown> | undefined;
  if (!device) {
    device = { type_id: 0, hostname };
    event.device = device;
  }
  device.container = container;
  if (event.class_uid === PROCESS_ACTIVITY_CLASS) {
    const process = event.process as Record<string, unknown> | undefined;
    if (process) process.container = container;
    const actorProcess = (event.actor as { process?: Record<string, unknown> } | undefined)?.process;
    if (actorProcess) actorProcess.container = container;
  }
  if (event.category_uid === SYSTEM_ACTIVITY_CATEGORY || event.class_uid === DETECTION_FINDING_CLASS) {
    addProfiles(event, 'container');
  } else {
    addProfiles(event, 'host', 'container');
  }
}

/** Says on the event that its container could not be described (the runtime was unreachable, or the container was
 * gone before it could be inspected): `metadata.labels` gets `enrichment_missing`, `unmapped` the reason. */
export function flagEnrichmentMissing(event: OcsfEvent, reason: string): void {
  const labels = event.metadata.labels ?? [];
  if (!labels.includes(ENRICHMENT_MISSING_LABEL)) labels.push(ENRICHMENT_MISSING_LABEL);
  event.metadata.labels = labels;
  event.unmapped ??= {};
  event.unmapped.outrider_enrichment_missing = reason;
}

export const ENRICHMENT_MISSING_LABEL = 'enrichment_missing';

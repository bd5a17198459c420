// The one place a ContainerRef becomes an OCSF `container` object. Kubernetes names go to `container.tags` under the
// OpenTelemetry semantic-convention keys, so SIEM queries use the same names as OTLP resource attributes.
import type { ContainerRef } from '../../core/envelope.ts';
import type { OcsfContainer } from '../event.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function containerObject(ref: ContainerRef): OcsfContainer | undefined {
  const tags: Array<{ name: string; value: string }> = [];
  const k8s = ref.k8s;
  if (k8s?.namespace) tags.push({ name: 'k8s.namespace.name', value: k8s.namespace });
  if (k8s?.pod) tags.push({ name: 'k8s.pod.name', value: k8s.pod });
  if (k8s?.container) tags.push({ name: 'k8s.container.name', value: k8s.container });
  if (k8s?.podUid) tags.push({ name: 'k8s.pod.uid', value: k8s.podUid });
  const container: OcsfContainer = {};
  if (ref.id) container.uid = ref.id;
  if (ref.name) container.name = ref.name;
  else if (!ref.id && k8s?.container) container.name = k8s.container;
  if (!container.uid && !container.name) return undefined;
  if (ref.runtime) container.runtime = ref.runtime;
  if (k8s) container.orchestrator = 'Kubernetes';
  if (k8s?.podUid && UUID.test(k8s.podUid)) container.pod_uuid = k8s.podUid;
  if (tags.length > 0) container.tags = tags;
  return container;
}

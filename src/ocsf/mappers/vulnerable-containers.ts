// Scan findings joined to the containers that run their image (the vulnerability_context transform): the finding
// again with the running containers in `resources[]` and its new lifecycle activity, and the 2004 Detection Finding
// raised when a container starts from an image with serious findings.

import { OTEL } from '../../enrich/resource-attributes.ts';
import type { RunningContainer } from '../../enrich/running-containers.ts';
import { classify } from '../catalog.ts';
import { baseMetadata, type OcsfEvent, type OcsfProduct } from '../event.ts';
import { attachContainer, containerObject } from './container.ts';

/** Finding classes of a report, by class_uid: their activity changes as the running containers do. */
export const FINDING_CLASS_NAMES = {
  2002: 'vulnerability_finding',
  2003: 'compliance_finding',
  2006: 'data_security_finding',
} as const;
export const FindingActivity = { Create: 1, Update: 2, Close: 3 } as const;
/** resource_details.role_id: the containers running the image are affected by its findings. */
const ROLE_AFFECTED = 3;
const OUTRIDER: OcsfProduct = { name: 'Outrider', vendor_name: 'Outrider' };

/** A running container as a finding resource: id, name, the node it runs on, its Kubernetes namespace and pod (the
 * same OpenTelemetry keys as `container.tags` elsewhere). */
export function containerResource(c: RunningContainer, hostname: string): Record<string, unknown> {
  const ref = c.ref;
  const resource: Record<string, unknown> = {
    type: 'container',
    uid: ref.id,
    role_id: ROLE_AFFECTED,
    hostname: c.node ?? hostname,
  };
  if (ref.name) resource.name = ref.name;
  if (ref.k8s?.namespace) resource.namespace = ref.k8s.namespace;
  const tags: Array<{ name: string; value: string }> = [];
  if (ref.runtime) tags.push({ name: OTEL.containerRuntime, value: ref.runtime });
  if (ref.k8s?.namespace) tags.push({ name: OTEL.k8sNamespace, value: ref.k8s.namespace });
  if (ref.k8s?.pod) tags.push({ name: OTEL.k8sPodName, value: ref.k8s.pod });
  if (ref.k8s?.podUid) tags.push({ name: OTEL.k8sPodUid, value: ref.k8s.podUid });
  if (ref.k8s?.container) tags.push({ name: OTEL.k8sContainerName, value: ref.k8s.container });
  if (tags.length > 0) resource.tags = tags;
  return resource;
}

/**
 * A finding as it goes out again: `activity` (Create, Update, Close), the containers now running its image appended
 * to `resources` after the image, first / last seen. `finding` is not changed.
 */
export function joinedFinding(
  finding: OcsfEvent,
  f: {
    activity: number;
    containers: Array<Record<string, unknown>>;
    time: number;
    firstSeen: number;
    lastSeen: number;
    closeReason?: string;
  },
): OcsfEvent {
  const className = FINDING_CLASS_NAMES[finding.class_uid as keyof typeof FINDING_CLASS_NAMES];
  const event: OcsfEvent = structuredClone(finding);
  Object.assign(event, classify(className, f.activity, finding.severity_id));
  event.time = f.time;
  const resources = (event.resources as Array<Record<string, unknown>> | undefined) ?? [];
  event.resources = [...resources.filter((r) => r.type !== 'container'), ...f.containers];
  const info = event.finding_info as Record<string, unknown>;
  info.first_seen_time = f.firstSeen;
  info.last_seen_time = f.lastSeen;
  for (const v of (event.vulnerabilities as Array<Record<string, unknown>> | undefined) ?? []) {
    v.first_seen_time = f.firstSeen;
    v.last_seen_time = f.lastSeen;
  }
  if (f.closeReason) event.status_detail = f.closeReason;
  else delete event.status_detail;
  return event;
}

export interface StartAlertInput {
  uid: string;
  container: RunningContainer;
  hostname: string;
  /** The image resource of the findings. */
  image: Record<string, unknown>;
  /** The image's findings at or above the alert severity, most severe first. */
  findings: OcsfEvent[];
  maxVulnerabilities: number;
  threshold: string;
}

/**
 * "A container just started from an image with known findings at or above the configured severity": a 2004
 * Detection Finding (an alert about an event, the start, with the container as evidence and the image's
 * vulnerabilities attached), not one more Vulnerability Finding (which describes a weakness of a resource).
 */
export function vulnerableImageStarted(input: StartAlertInput): OcsfEvent {
  const { container, findings } = input;
  const ref = container.ref;
  const severity = Math.max(...findings.map((f) => f.severity_id));
  const counts = new Map<number, number>();
  for (const f of findings) counts.set(f.severity_id, (counts.get(f.severity_id) ?? 0) + 1);
  const summary = [...counts]
    .sort((a, b) => b[0] - a[0])
    .map(([s, n]) => `${n} ${classify('detection_finding', FindingActivity.Create, s).severity.toLowerCase()}`)
    .join(', ');
  const vulnerabilities = findings
    .flatMap((f) => (f.vulnerabilities as Array<Record<string, unknown>> | undefined) ?? [])
    .slice(0, input.maxVulnerabilities)
    .map(({ desc: _desc, references: _references, ...v }) => v);
  const ids = [
    ...new Set(
      vulnerabilities.map(
        (v) => (v.cve as { uid?: string } | undefined)?.uid ?? (v.advisory as { uid?: string } | undefined)?.uid,
      ),
    ),
  ];
  const imageName = `${String(input.image.name ?? input.image.uid)}${input.image.version ? `:${String(input.image.version)}` : ''}`;
  const who = ref.k8s?.pod
    ? `pod ${ref.k8s.namespace ?? ''}/${ref.k8s.pod}`
    : `container ${ref.name ?? ref.id.slice(0, 12)}`;
  const ocsfContainer = containerObject(ref);
  const event: OcsfEvent = {
    ...classify('detection_finding', FindingActivity.Create, severity),
    time: container.since,
    metadata: {
      ...baseMetadata(OUTRIDER, 'vulnerability_context'),
      uid: input.uid,
      labels: ['vulnerable_image_started'],
    },
    message: `${who} started from ${imageName}, which has known findings at or above ${input.threshold}: ${summary}${ids.length > 0 ? ` (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})` : ''}`,
    is_alert: true,
    finding_info: {
      uid: input.uid,
      title: `Container started from a vulnerable image (${summary})`,
      analytic: {
        uid: 'outrider.vulnerability_context.vulnerable_image_started',
        name: 'vulnerable image started',
        type_id: 1,
        type: 'Rule',
      },
      types: ['Vulnerable workload'],
      related_events: findings.slice(0, 50).map((f) => ({
        uid: (f.finding_info as { uid: string }).uid,
        type_uid: f.type_uid,
        severity_id: f.severity_id,
        title: (f.finding_info as { title?: string }).title,
      })),
    },
    resources: [input.image, containerResource(container, input.hostname)],
    device: { type_id: 0, hostname: container.node ?? input.hostname },
    evidences: [{ ...(ocsfContainer ? { container: ocsfContainer } : {}), resources: [input.image] }],
    unmapped: { vulnerability_context: { findings: findings.length, container_id: ref.id } },
  };
  if (vulnerabilities.length > 0) event.vulnerabilities = vulnerabilities;
  if (ocsfContainer) attachContainer(event, ocsfContainer, container.node ?? input.hostname);
  return event;
}

// Kubernetes audit Event → 6003 API Activity, per ../shared/ocsf/MAPPING.md section 5 "Kubernetes audit".
// Secret/ConfigMap payloads are masked before anything (raw_data included) is built from the event.
import { type K8sAuditEvent, maskSensitivePayloads } from '../../parsers/k8s-audit.ts';
import { classify, Severity, Status } from '../catalog.ts';
import { baseMetadata, type OcsfEvent, type OcsfProduct } from '../event.ts';
import { flagProblem } from '../problems.ts';
import { parseRfc3339 } from '../time.ts';
import { isIpAddress, mapSafely, normaliseIp, Observables, ObservableType, statusFields } from './common.ts';

export const K8S_AUDIT_PRODUCT: OcsfProduct = { name: 'kube-apiserver', vendor_name: 'Kubernetes' };
const LOG_NAME = 'k8s-audit';

const VERB_ACTIVITY: Record<string, number> = {
  create: 1,
  get: 2,
  list: 2,
  watch: 2,
  update: 3,
  patch: 3,
  delete: 4,
  deletecollection: 4,
};

export interface K8sAuditInput {
  /** The stage that closes the request (ResponseComplete, Panic, or a lone earlier stage). */
  event: K8sAuditEvent;
  /** The RequestReceived / ResponseStarted stages merged into it, oldest first. */
  earlier?: K8sAuditEvent[];
  /** The original lines of the stages (earlier ones first), used as raw_data when nothing had to be masked. */
  lines?: string[];
  /** What was wrong with the input. */
  problems?: string[];
}

export interface K8sAuditMapOptions {
  onProblem?: (reason: string, detail: string) => void;
}

/** Maps one audit event (stages of one auditID merged); never throws. Masks Secret/ConfigMap payloads in place. */
export function mapK8sAuditEvent(input: K8sAuditInput, options: K8sAuditMapOptions = {}): OcsfEvent {
  const masked = maskSensitivePayloads(input.event);
  for (const e of input.earlier ?? []) masked.push(...maskSensitivePayloads(e));
  // raw_data is the record as received; when values were masked, the record re-encoded without them.
  const raw =
    masked.length === 0 && input.lines
      ? input.lines.join('\n')
      : [...(input.earlier ?? []), input.event].map((e) => JSON.stringify(e)).join('\n');
  const time =
    parseRfc3339(input.event.stageTimestamp ?? '') ?? parseRfc3339(input.event.requestReceivedTimestamp ?? '');
  return mapSafely(
    () => map(input, masked, raw, time ?? Date.now()),
    { product: K8S_AUDIT_PRODUCT, logName: LOG_NAME, raw, time: time ?? Date.now() },
    options.onProblem,
  );
}

function map(input: K8sAuditInput, masked: string[], raw: string, time: number): OcsfEvent {
  const e = input.event;
  const verb = e.verb ?? 'unknown';
  const activity = VERB_ACTIVITY[verb] ?? 99;
  const code = e.responseStatus?.code;
  const decision = e.annotations?.['authorization.k8s.io/decision'];
  const failed = (code !== undefined && code >= 400) || decision === 'forbid' || e.stage === 'Panic';
  const statusId =
    code === undefined && decision === undefined ? Status.Unknown : failed ? Status.Failure : Status.Success;
  const detail =
    decision === 'forbid'
      ? e.annotations?.['authorization.k8s.io/reason'] || 'forbidden by authorization'
      : (e.responseStatus?.reason ?? e.responseStatus?.message);
  const severity = e.stage === 'Panic' ? Severity.Medium : failed ? Severity.Low : Severity.Informational;
  const metadata = baseMetadata(K8S_AUDIT_PRODUCT, LOG_NAME);
  metadata.log_format = e.apiVersion ?? 'audit.k8s.io';
  metadata.original_time = e.stageTimestamp ?? e.requestReceivedTimestamp ?? '';
  if (!metadata.original_time) delete metadata.original_time;
  metadata.original_event_uid = e.auditID;
  metadata.correlation_uid = e.auditID;
  const event: OcsfEvent = {
    ...classify('api_activity', activity, severity, activity === 99 ? verb : undefined),
    ...statusFields(statusId, code !== undefined ? String(code) : undefined, detail || undefined),
    time,
    metadata,
    raw_data: raw,
  };
  const start = parseRfc3339(e.requestReceivedTimestamp ?? input.earlier?.[0]?.requestReceivedTimestamp ?? '');
  if (start !== undefined) event.start_time = start;
  const obs = new Observables();

  const actor: Record<string, unknown> = {};
  const user: Record<string, unknown> = {};
  if (e.user?.username) user.name = e.user.username;
  if (e.user?.uid) user.uid = e.user.uid;
  if (e.user?.groups?.length) user.groups = e.user.groups.map((name) => ({ name }));
  if (user.name || user.uid) actor.user = user;
  else actor.app_name = 'unknown';
  if (e.userAgent) actor.app_name = e.userAgent;
  event.actor = actor;
  obs.add('actor.user.name', ObservableType.UserName, user.name);

  const ips = (e.sourceIPs ?? []).filter((ip) => isIpAddress(ip)).map(normaliseIp);
  const src: Record<string, unknown> = ips.length > 0 ? { ip: ips[0] } : { name: 'unknown' };
  if (ips.length > 1) src.intermediate_ips = ips.slice(1);
  event.src_endpoint = src;
  obs.add('src_endpoint.ip', ObservableType.IpAddress, src.ip);

  const api: Record<string, unknown> = {
    operation: verb,
    service: { name: 'kube-apiserver' },
    request: { uid: e.auditID },
  };
  const ref = e.objectRef;
  if (ref?.apiVersion) api.version = ref.apiVersion;
  if (ref?.apiGroup) api.group = { name: ref.apiGroup };
  const requestContainers = podContainers(e.requestObject);
  if (requestContainers) (api.request as Record<string, unknown>).containers = requestContainers;
  if (e.responseStatus) {
    const response: Record<string, unknown> = {};
    if (code !== undefined) response.code = code;
    if (e.responseStatus.message) response.message = e.responseStatus.message;
    if (e.responseStatus.reason) response.error = e.responseStatus.reason;
    const responseContainers = podContainers(e.responseObject);
    if (responseContainers) response.containers = responseContainers;
    if (Object.keys(response).length > 0) api.response = response;
  }
  event.api = api;

  if (ref && (ref.name || ref.uid || ref.resource)) {
    const resource: Record<string, unknown> = {};
    const type = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
    if (type) resource.type = type;
    // A collection request (list, create without a name yet) names the resource type as the resource.
    resource.name = ref.name ?? ref.resource ?? 'unknown';
    if (ref.namespace) resource.namespace = ref.namespace;
    if (ref.uid) resource.uid = ref.uid;
    if (ref.resourceVersion) resource.version = ref.resourceVersion;
    if (ref.apiGroup) resource.group = { name: ref.apiGroup };
    event.resources = [resource];
    if (ref.name) obs.add('resources[0].name', 38, ref.name);
  }

  if (e.requestURI) {
    const q = e.requestURI.indexOf('?');
    const url: Record<string, unknown> = { path: q < 0 ? e.requestURI : e.requestURI.slice(0, q) };
    if (q >= 0) url.query_string = e.requestURI.slice(q + 1);
    const httpRequest: Record<string, unknown> = { url };
    if (e.userAgent) httpRequest.user_agent = e.userAgent;
    event.http_request = httpRequest;
    obs.add('http_request.user_agent', ObservableType.UserAgent, e.userAgent);
  }
  if (code !== undefined) event.http_response = { code };

  const unmapped: Record<string, unknown> = { stage: e.stage };
  if (input.earlier?.length) unmapped.merged_stages = input.earlier.map((s) => s.stage);
  if (e.level) unmapped.level = e.level;
  if (e.annotations) unmapped.annotations = e.annotations;
  if (e.impersonatedUser) unmapped.impersonated_user = e.impersonatedUser;
  if (e.user?.extra) unmapped.user_extra = e.user.extra;
  if (masked.length > 0) unmapped.outrider_masked = masked;
  event.unmapped = unmapped;
  obs.attach(event);
  for (const p of input.problems ?? []) flagProblem(event, p);
  return event;
}

/** Containers of a Pod (or a workload's pod template) in a request/response body, as OCSF container objects. */
function podContainers(body: unknown): Array<Record<string, unknown>> | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const o = body as { kind?: string; spec?: Record<string, unknown> };
  const spec = o.kind === 'Pod' ? o.spec : (o.spec?.template as { spec?: Record<string, unknown> } | undefined)?.spec;
  if (!spec) return undefined;
  const out: Array<Record<string, unknown>> = [];
  for (const key of ['initContainers', 'containers', 'ephemeralContainers']) {
    const list = spec[key];
    if (!Array.isArray(list)) continue;
    for (const c of list as Array<Record<string, unknown>>) {
      if (typeof c.name !== 'string') continue;
      // OCSF requires image.uid (an image id) whenever image is set; a pod spec names the image only, so the name
      // goes to tags under the OpenTelemetry key.
      const tags: Array<{ name: string; value: string }> = [];
      if (typeof c.image === 'string') tags.push({ name: 'container.image.name', value: c.image });
      const sc = c.securityContext as { privileged?: boolean } | undefined;
      if (sc?.privileged) tags.push({ name: 'k8s.container.privileged', value: 'true' });
      if (key !== 'containers') tags.push({ name: 'k8s.container.kind', value: key });
      out.push({ name: c.name, ...(tags.length > 0 ? { tags } : {}) });
    }
  }
  return out.length > 0 ? out : undefined;
}

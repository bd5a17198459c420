// Kubernetes API server audit events (`audit.k8s.io/v1` Event, one JSON object per line), and the masking of
// Secret / ConfigMap payloads, which must never leave Outrider in clear.
import { parseJsonObject } from './json.ts';

export interface K8sAuditEvent {
  kind?: string;
  apiVersion?: string;
  level?: string;
  auditID: string;
  stage: string;
  requestURI?: string;
  verb?: string;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  impersonatedUser?: { username?: string; uid?: string; groups?: string[] };
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: {
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
    uid?: string;
    apiGroup?: string;
    apiVersion?: string;
    resourceVersion?: string;
  };
  responseStatus?: { code?: number; message?: string; reason?: string; status?: string };
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Parses one line (it may come parsed already); a string explains why it is not an audit event. */
export function parseK8sAuditLine(line: string, parsed?: Record<string, unknown>): K8sAuditEvent | string {
  const v = parsed ?? parseJsonObject(line);
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if (typeof o.auditID !== 'string' || o.auditID === '') return 'missing "auditID"';
  if (typeof o.stage !== 'string') return 'missing "stage"';
  return o as K8sAuditEvent;
}

const SENSITIVE_KINDS = new Set(['Secret', 'ConfigMap', 'SecretList', 'ConfigMapList']);
const SENSITIVE_RESOURCES = new Set(['secrets', 'configmaps']);
const PAYLOAD_KEYS = ['data', 'stringData', 'binaryData'] as const;
export const MASK = '***';

/**
 * Replaces every value under `data` / `stringData` / `binaryData` of Secret and ConfigMap objects (and lists of
 * them) in request and response bodies with "***", in place. Returns the JSON paths it masked. A body of a
 * secrets/configmaps request that is not a recognisable object (a patch) is replaced whole.
 */
export function maskSensitivePayloads(event: K8sAuditEvent): string[] {
  const masked: string[] = [];
  const resource = event.objectRef?.resource;
  for (const field of ['requestObject', 'responseObject'] as const) {
    const body = event[field];
    if (body === undefined || body === null) continue;
    if (maskObject(body, field, masked)) continue;
    if (resource && SENSITIVE_RESOURCES.has(resource) && !isMetaOnly(body)) {
      // A JSON or strategic-merge patch of a Secret carries values in shapes we cannot enumerate: drop it whole.
      event[field] = MASK;
      masked.push(field);
    }
  }
  return masked;
}

function maskObject(body: unknown, path: string, masked: string[]): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const o = body as Record<string, unknown>;
  const kind = typeof o.kind === 'string' ? o.kind : undefined;
  if (!kind || !SENSITIVE_KINDS.has(kind)) return false;
  if (kind.endsWith('List')) {
    const items = Array.isArray(o.items) ? o.items : [];
    items.forEach((item, i) => {
      maskPayload(item, `${path}.items[${i}]`, masked);
    });
    return true;
  }
  maskPayload(o, path, masked);
  return true;
}

function maskPayload(item: unknown, path: string, masked: string[]): void {
  if (item === null || typeof item !== 'object') return;
  const o = item as Record<string, unknown>;
  for (const key of PAYLOAD_KEYS) {
    const data = o[key];
    if (data === undefined || data === null) continue;
    if (typeof data !== 'object') {
      // Not the map the API defines, but a value all the same.
      o[key] = MASK;
      masked.push(`${path}.${key}`);
      continue;
    }
    for (const k of Object.keys(data as Record<string, unknown>)) {
      (data as Record<string, unknown>)[k] = MASK;
      masked.push(`${path}.${key}.${k}`);
    }
  }
  // kubectl apply keeps the whole previous object, values included, in this annotation.
  const annotations = (o.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
  const applied = 'kubectl.kubernetes.io/last-applied-configuration';
  if (annotations && typeof annotations[applied] === 'string') {
    annotations[applied] = MASK;
    masked.push(`${path}.metadata.annotations.${applied}`);
  }
}

/** Status objects and DeleteOptions carry no values. */
function isMetaOnly(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  const kind = (body as { kind?: unknown }).kind;
  return kind === 'Status' || kind === 'DeleteOptions';
}

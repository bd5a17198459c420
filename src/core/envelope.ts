import { randomBytes } from 'node:crypto';
import type { OcsfEvent } from '../ocsf/event.ts';

/** What Outrider knows of the container an event came from, at the time it was read (or, for enriched events,
 * at the container's create/start: metadata is never looked up at flush time). */
export interface ContainerRef {
  /** Full container id (64 hex chars for Docker and containerd) when known. */
  id?: string;
  name?: string;
  runtime?: 'docker' | 'containerd' | 'cri-o' | 'cri';
  image?: {
    /** Image id, `sha256:…`. */
    id?: string;
    /** Repository without tag, e.g. `nginx` or `registry.example.com/team/app`. */
    name?: string;
    tag?: string;
    /** Repo digest `sha256:…` (content address of the pulled image), when known. */
    digest?: string;
  };
  labels?: Record<string, string>;
  /** Kubernetes identity, from CRI log paths or `io.kubernetes.*` labels. */
  k8s?: { namespace?: string; pod?: string; podUid?: string; container?: string };
  /** True when enrichment was wanted but the runtime could not be asked (events say so rather than guess). */
  enrichmentMissing?: boolean;
}

/**
 * One event on its way through the pipeline. The acknowledgement handle (the source's cursor) travels with the
 * batch the envelope belongs to (see `EventBatch`), because every event of one read shares one resume position.
 */
export interface Envelope {
  event: OcsfEvent;
  /** Name of the source component that produced the event. */
  source: string;
  container?: ContainerRef;
  /** The untouched input text (also in `event.raw_data`), kept for dead-letter files. */
  raw: string;
  /** Sinks this event is routed to (set by a rules transform); absent: every sink that takes its stream. */
  route?: string[];
  /** Memoised JSON encoding of `event`, shared by every sink that writes JSON. */
  encoded?: string;
}

/** JSON of container objects, which are shared by every event of their container (built once per file by the
 * container-log decoder, once per container by docker_metadata) and never mutated once attached. */
const containerJson = new WeakMap<object, string>();
/** Stands in for `device.container` while the rest of the event is stringified; unguessable, so no input holds it. */
const CONTAINER_SLOT = `"\\u0000outrider-container-${randomBytes(12).toString('hex')}"`;
const CONTAINER_SLOT_VALUE = JSON.parse(CONTAINER_SLOT) as string;

export function encodeEvent(envelope: Envelope): string {
  if (envelope.encoded === undefined) envelope.encoded = stringifyEvent(envelope.event);
  return envelope.encoded;
}

/**
 * JSON.stringify of an event, with its `device.container` spliced in from a cache: most events of a busy container
 * share one container object, and serialising it again for every event was most of what enrichment cost.
 */
function stringifyEvent(event: OcsfEvent): string {
  const device = event.device as { container?: unknown } | undefined;
  const container = device?.container;
  if (container === null || typeof container !== 'object') return JSON.stringify(event);
  let json = containerJson.get(container);
  if (json === undefined) {
    json = JSON.stringify(container);
    containerJson.set(container, json);
  }
  device!.container = CONTAINER_SLOT_VALUE;
  let text: string;
  try {
    text = JSON.stringify(event);
  } finally {
    device!.container = container;
  }
  // The same device object may be referenced twice in one event (a finding's evidence): fill every slot.
  let out = '';
  let from = 0;
  for (let at = text.indexOf(CONTAINER_SLOT); at >= 0; at = text.indexOf(CONTAINER_SLOT, from)) {
    out += text.slice(from, at) + json;
    from = at + CONTAINER_SLOT.length;
  }
  return out + text.slice(from);
}

/** Events as NDJSON text (one JSON object per line, newline-terminated), for sinks that write lines. */
export function encodeNdjson(envelopes: Envelope[]): string {
  const lines = new Array<string>(envelopes.length + 1);
  for (let i = 0; i < envelopes.length; i++) lines[i] = encodeEvent(envelopes[i]!);
  // A final empty element gives the trailing newline without another concatenation of the whole batch.
  lines[envelopes.length] = '';
  return lines.join('\n');
}

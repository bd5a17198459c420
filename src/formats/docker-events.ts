// Docker Engine events: the objects GET /events streams (one JSON object per line), which is also what
// `docker events --format '{{json .}}'` prints. Pretty-printed objects spread over several lines (API docs samples)
// are joined back. Every input object gives one OCSF event; input that is not an event is kept raw, flagged.
import type { ContainerRef } from '../core/envelope.ts';
import { containerRefFromEventAttributes } from '../enrich/docker-inspect.ts';
import type { LabelFilter } from '../enrich/label-filter.ts';
import { mapDockerEvent, mapUnparsedDockerEvent } from '../ocsf/mappers/docker-events.ts';
import type { DecodeContext, DecodedEvent, LineDecoder, LineInfo, RecordFormat } from './decoder.ts';

export interface DockerEngineEvent {
  /** container, image, volume, network, daemon, plugin, service, node, secret, config, builder. */
  Type: string;
  /** e.g. `start`, `die`, `exec_start: sh -c id`, `health_status: healthy`. */
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope?: string;
  /** Nanoseconds since the epoch, exact, as decimal text (the value does not fit a JavaScript number). */
  timeNano: string;
}

const TIME_NANO = /"timeNano"\s*:\s*(\d+)/;
/** Offline, every label an event carries is the container's (the live source filters them by its `labels` option). */
const ALL_LABELS: LabelFilter = { keys: [], prefixes: [''] };
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** Parses one engine event object; returns an error text for anything else. Events of engines older than API 1.22
 * (only `status`, `id`, `from`) are read as container or image events. */
export function parseEngineEvent(text: string): DockerEngineEvent | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  const actor = o.Actor as { ID?: unknown; Attributes?: unknown } | undefined;
  const legacyId = typeof o.id === 'string' ? o.id : undefined;
  const action = typeof o.Action === 'string' ? o.Action : typeof o.status === 'string' ? o.status : undefined;
  if (!action) return 'no "Action" (or legacy "status")';
  const id = typeof actor?.ID === 'string' ? actor.ID : legacyId;
  if (id === undefined) return 'no "Actor.ID" (or legacy "id")';
  let attributes: Record<string, string> = {};
  if (actor?.Attributes && typeof actor.Attributes === 'object') {
    for (const [k, val] of Object.entries(actor.Attributes as Record<string, unknown>))
      if (typeof val === 'string') attributes[k] = val;
  } else if (typeof o.from === 'string') {
    attributes = { image: o.from };
  }
  const type = typeof o.Type === 'string' ? o.Type : typeof o.from === 'string' ? 'container' : 'image';
  let timeNano = TIME_NANO.exec(text)?.[1];
  if (timeNano === undefined) {
    if (typeof o.time !== 'number') return 'no "timeNano" or "time"';
    timeNano = (BigInt(Math.trunc(o.time)) * 1_000_000_000n).toString();
  }
  const event: DockerEngineEvent = { Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, timeNano };
  if (typeof o.scope === 'string') event.scope = o.scope;
  return event;
}

/** The container an engine event is about: the actor of container events, the `container` attribute of volume
 * mounts and network connections. */
export function containerIdOfEvent(ev: DockerEngineEvent): string | undefined {
  if (ev.Type === 'container') return ev.Actor.ID;
  const c = ev.Actor.Attributes.container;
  return c && CONTAINER_ID.test(c) ? c : undefined;
}

/** The key that identifies one engine event for boundary de-duplication (events have no id). */
export function engineEventKey(ev: DockerEngineEvent): string {
  return `${ev.timeNano}|${ev.Actor.ID}|${ev.Action}`;
}

/** Longest pretty-printed object joined back from several lines. */
const MAX_OBJECT_BYTES = 1024 * 1024;

/** A LineDecoder for recorded event streams (`outrider normalise --format docker-events`). */
export class DockerEventsDecoder implements LineDecoder {
  private pending: string[] = [];
  private pendingStart = 0;
  private pendingBytes = 0;
  private depth = 0;

  constructor(private readonly ctx: DecodeContext) {}

  push(line: string, info: LineInfo, out: DecodedEvent[]): void {
    if (this.pending.length === 0) {
      if (line.trim() === '') return;
      this.pendingStart = info.start;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.depth = braceDepth(line, this.depth);
    // A line that is not the start of an object, or a complete object, or a runaway one: decode what we have.
    if (this.depth <= 0 || !this.pending[0]!.trimStart().startsWith('{') || this.pendingBytes > MAX_OBJECT_BYTES)
      this.decodePending(out);
  }

  heldFrom(): number | undefined {
    return this.pending.length > 0 ? this.pendingStart : undefined;
  }

  flushExpired(): void {}

  flush(out: DecodedEvent[]): void {
    if (this.pending.length > 0) this.decodePending(out);
  }

  private decodePending(out: DecodedEvent[]): void {
    const raw = this.pending.join('\n');
    this.pending = [];
    this.pendingBytes = 0;
    this.depth = 0;
    const parsed = parseEngineEvent(raw);
    if (typeof parsed === 'string') {
      this.ctx.onProblem('malformed_record', parsed);
      out.push({ event: mapUnparsedDockerEvent(raw, `malformed docker event: ${parsed}`, this.ctx.hostname), raw });
      return;
    }
    const id = containerIdOfEvent(parsed);
    // Offline, the event's own attributes are all there is to say about its container.
    const container: ContainerRef | undefined = id
      ? containerRefFromEventAttributes(id, parsed.Type === 'container' ? parsed.Actor.Attributes : {}, ALL_LABELS)
      : undefined;
    const event = mapDockerEvent(parsed, { hostname: this.ctx.hostname, raw, ...(container ? { container } : {}) });
    out.push({ event, raw, ...(container ? { container } : {}) });
  }
}

/** Brace depth after `line`, counting only braces outside JSON strings. */
function braceDepth(line: string, depth: number): number {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */) depth++;
    else if (c === 125 /* } */) depth--;
  }
  return depth;
}

export const dockerEventsFormat: RecordFormat = {
  name: 'docker-events',
  description:
    'Docker Engine events (GET /events objects or `docker events --format "{{json .}}"`, one per line; pretty-printed objects are joined)',
  createDecoder: (ctx) => new DockerEventsDecoder(ctx),
};

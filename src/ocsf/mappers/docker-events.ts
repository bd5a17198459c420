// Docker Engine events → OCSF. OCSF 1.8 has no container-lifecycle class; the choices (docs/enrichment.md explains
// them) follow /work/shared/ocsf/MAPPING.md: container and image lifecycle → 6002 Application Lifecycle with `app` =
// the image, exec → 1007 Process Activity inside the container, volume mount and unmount → 1001 File System
// Activity, the rest (network connections, daemon, plugins…) → Base Event with the engine's own words. No event is
// dropped. The container's image and labels go where OCSF puts them (`container.image`, `container.labels`), and
// every event names its container, image, command and volume as observables.
import type { ContainerRef } from '../../core/envelope.ts';
import { type DockerSecurityFacts, parseImageReference, securityLabels } from '../../enrich/docker-inspect.ts';
import type { DockerEngineEvent } from '../../formats/docker-events.ts';
import { classify, Severity, Status, statusCaption } from '../catalog.ts';
import { baseMetadata, type OcsfEvent } from '../event.ts';
import { flagProblem } from '../problems.ts';
import { Observables, ObservableType } from './common.ts';
import { attachContainer, containerObject, flagEnrichmentMissing } from './container.ts';

const PRODUCT = { name: 'Docker Engine', vendor_name: 'Docker' } as const;
const LOG_NAME = 'docker-events';
const ENGINE_ACTOR = { app_name: 'Docker Engine' } as const;
/** 1973-03-03 (1e11 ms): OCSF validators reject earlier timestamps as a unit mistake. */
const PLAUSIBLE_SINCE_MS = 1e11;

export interface DockerEventContext {
  hostname: string;
  /** The engine event's text, kept as raw_data. */
  raw: string;
  /** The container the event is about (from the metadata cache, or from the event's attributes). */
  container?: ContainerRef;
  /** The container's configuration facts, for container create/start events (from inspect). */
  security?: DockerSecurityFacts;
  /** Why the container could not be described fully (e.g. removed before it could be inspected). */
  enrichmentMissing?: string;
  /** Read time (epoch ms), used when the event's own time is broken. */
  now?: number;
}

/** The word before `:` of an action (`exec_start: sh -c id` → `exec_start`). */
export function actionVerb(action: string): string {
  const colon = action.indexOf(':');
  return colon < 0 ? action : action.slice(0, colon);
}

/** What follows `verb: ` in an action (`exec_start: sh -c id` → `sh -c id`), if anything. */
function actionArgument(action: string): string | undefined {
  const colon = action.indexOf(':');
  const arg = colon < 0 ? '' : action.slice(colon + 1).trim();
  return arg === '' ? undefined : arg;
}

/** `exec_create` → `Exec Create`: the engine's word as an OCSF activity_name for activity 99. */
function caption(word: string): string {
  return word
    .split(/[_\s-]+/)
    .filter(Boolean)
    .map((w) => (w === 'oom' ? 'OOM' : w[0]!.toUpperCase() + w.slice(1)))
    .join(' ');
}

/** container lifecycle verb → 6002 activity (3 Start, 4 Stop, 2 Remove, 5 Restart, 8 Update; 99 with the word). */
const CONTAINER_ACTIVITY: Record<string, number> = { start: 3, restart: 5, die: 4, stop: 4, destroy: 2, update: 8 };
/** image verb → 6002 activity: a pulled, imported or loaded image is installed on the host; a deleted one removed. */
const IMAGE_ACTIVITY: Record<string, number> = { pull: 1, import: 1, load: 1, delete: 2 };
/** exec verb → 1007 activity. exec_create only registers the command: exec_start launches the process. */
const EXEC_ACTIVITY: Record<string, number> = { exec_start: 1, exec_die: 2 };

export function mapDockerEvent(ev: DockerEngineEvent, ctx: DockerEventContext): OcsfEvent {
  const verb = actionVerb(ev.Action);
  const attrs = ev.Actor.Attributes;
  let event: OcsfEvent;
  if (ev.Type === 'container' && verb.startsWith('exec_')) event = execEvent(ev, verb);
  else if (ev.Type === 'container') event = containerLifecycleEvent(ev, verb, ctx);
  else if (ev.Type === 'image') event = imageEvent(ev, verb);
  else if (ev.Type === 'volume' && (verb === 'mount' || verb === 'unmount'))
    event = volumeMountEvent(verb, ev.Actor.ID, attrs.destination);
  else event = otherEvent(ev);
  event.time = timeMs(ev.timeNano);
  event.metadata.original_time = ev.timeNano;
  if (event.time < PLAUSIBLE_SINCE_MS) {
    // Engines stamp events with the wall clock; a time before 1973 is a broken record, not a real date.
    flagProblem(event, `implausible timeNano ${ev.timeNano}; time is when Outrider read the event`);
    event.time = ctx.now ?? Date.now();
  }
  event.raw_data = ctx.raw;
  const docker: Record<string, unknown> = { type: ev.Type, action: ev.Action, actor_id: ev.Actor.ID };
  if (Object.keys(attrs).length > 0) docker.attributes = attrs;
  if (ev.scope) docker.scope = ev.scope;
  event.unmapped = { ...event.unmapped, docker: { ...(event.unmapped?.docker as object), ...docker } };
  event.device = { type_id: 0, hostname: ctx.hostname };
  const container = ctx.container ? containerObject(ctx.container) : undefined;
  if (container && !container.image) {
    // OCSF requires image.uid: the engine's events give the reference the container was created from, not the id
    // (known once inspected): the reference stands in for it.
    const reference = ev.Type === 'container' ? attrs.image : undefined;
    const image = ctx.container?.image;
    const uid = image?.id ?? reference;
    if (uid) {
      container.image = { uid, ...(image?.name ? { name: image.name } : {}) };
      if (image?.tag) container.image.tags = [{ name: 'tag', value: image.tag }];
    }
  }
  if (container) attachContainer(event, container, ctx.hostname);
  else addHostProfile(event);
  if (ctx.enrichmentMissing) flagEnrichmentMissing(event, ctx.enrichmentMissing);
  event.message = messageOf(ev, ctx.container);
  observe(event);
  return event;
}

/** The engine event's observables: host, container (id, name, image), exec command, volume. */
function observe(event: OcsfEvent): void {
  const obs = new Observables();
  const device = event.device as { hostname?: string; container?: OcsfContainerLike } | undefined;
  obs.add('device.hostname', ObservableType.Hostname, device?.hostname);
  const c = device?.container;
  obs.add('device.container.uid', ObservableType.ResourceUid, c?.uid, 'container uid');
  obs.add('device.container.name', ObservableType.Other, c?.name, 'container name');
  obs.add('device.container.image.name', ObservableType.Other, c?.image?.name, 'image name');
  const process = event.process as { name?: string; cmd_line?: string } | undefined;
  obs.add('process.name', ObservableType.ProcessName, process?.name);
  obs.add('process.cmd_line', ObservableType.CommandLine, process?.cmd_line);
  const file = event.file as { path?: string } | undefined;
  obs.add('file.path', ObservableType.FilePath, file?.path);
  obs.attach(event);
}

interface OcsfContainerLike {
  uid?: string;
  name?: string;
  image?: { name?: string };
}

/** A record that is not an engine event: kept whole as a Base Event, flagged. */
export function mapUnparsedDockerEvent(raw: string, problem: string, hostname: string): OcsfEvent {
  const event: OcsfEvent = {
    ...classify('base_event', 0, Severity.Unknown),
    time: Date.now(),
    metadata: { ...baseMetadata(PRODUCT, LOG_NAME), profiles: ['host'] },
    device: { type_id: 0, hostname },
    raw_data: raw,
  };
  flagProblem(event, problem);
  return event;
}

function timeMs(timeNano: string): number {
  return Number(BigInt(timeNano) / 1_000_000n);
}

function addHostProfile(event: OcsfEvent): void {
  if (event.category_uid !== 1) event.metadata.profiles = [...(event.metadata.profiles ?? []), 'host'];
}

function messageOf(ev: DockerEngineEvent, container: ContainerRef | undefined): string {
  const who = container?.name ?? ev.Actor.Attributes.name ?? ev.Actor.ID.slice(0, 12);
  return `docker ${ev.Type} ${ev.Action} ${who}`;
}

function metadataFor(): OcsfEvent['metadata'] {
  const m = baseMetadata(PRODUCT, LOG_NAME);
  m.log_provider = 'docker engine';
  m.log_format = 'JSON';
  return m;
}

/** `app` of 6002: the image, as a product (name = repository, version = tag, uid = image id when known). */
function imageApp(reference: string | undefined, imageId: string | undefined): Record<string, string> {
  const app: Record<string, string> = {};
  const parsed = reference ? parseImageReference(reference) : {};
  if (parsed.name) app.name = parsed.name;
  if (parsed.tag) app.version = parsed.tag;
  if (imageId) app.uid = imageId;
  if (!app.name && !app.uid && reference) app.uid = reference;
  if (!app.name && !app.uid) app.name = 'unknown image';
  return app;
}

function containerLifecycleEvent(ev: DockerEngineEvent, verb: string, ctx: DockerEventContext): OcsfEvent {
  const attrs = ev.Actor.Attributes;
  const activity = CONTAINER_ACTIVITY[verb] ?? 99;
  let severity: number = verb === 'oom' ? Severity.Medium : Severity.Informational;
  const event: OcsfEvent = {
    ...classify('application_lifecycle', activity, severity, caption(verb)),
    time: 0,
    metadata: metadataFor(),
    app: imageApp(attrs.image ?? ctx.container?.image?.name, ctx.container?.image?.id),
  };
  const exitCode = attrs.exitCode;
  if (verb === 'die' && exitCode !== undefined) {
    event.status_code = exitCode;
    event.status_id = exitCode === '0' ? Status.Success : Status.Failure;
    event.status = statusCaption(event.status_id as number);
    event.status_detail = `exit code ${exitCode}`;
  }
  if (verb === 'kill' && attrs.signal) event.status_detail = `signal ${attrs.signal}`;
  const argument = actionArgument(ev.Action);
  if (argument) event.status_detail = argument;
  if ((verb === 'start' || verb === 'create') && ctx.security) {
    const { labels, severityId } = securityLabels(ctx.security);
    event.unmapped = { docker: { security: ctx.security } };
    if (labels.length > 0) event.metadata.labels = [...(event.metadata.labels ?? []), ...labels];
    if (severityId !== undefined && severityId > severity) {
      severity = severityId;
      Object.assign(event, classify('application_lifecycle', activity, severity, caption(verb)));
    }
  }
  return event;
}

function execEvent(ev: DockerEngineEvent, verb: string): OcsfEvent {
  const attrs = ev.Actor.Attributes;
  const execId = attrs.execID;
  const cmdLine = actionArgument(ev.Action);
  const process: Record<string, unknown> = {};
  // The engine reports no pid for an exec; its exec id is the process's identity (and correlates create/start/die).
  if (execId) process.uid = execId;
  if (cmdLine) {
    process.cmd_line = cmdLine;
    const first = cmdLine.split(/\s+/)[0]!;
    process.name = first.slice(first.lastIndexOf('/') + 1);
  }
  if (!process.uid) process.uid = `${ev.Actor.ID}:${ev.timeNano}`;
  const event: OcsfEvent = {
    ...classify('process_activity', EXEC_ACTIVITY[verb] ?? 99, Severity.Informational, caption(verb)),
    time: 0,
    metadata: metadataFor(),
    actor: { ...ENGINE_ACTOR },
    process,
  };
  if (execId) event.metadata.correlation_uid = execId;
  if (verb === 'exec_die' && attrs.exitCode !== undefined) {
    const code = Number(attrs.exitCode);
    if (Number.isInteger(code)) event.exit_code = code;
    event.status_code = attrs.exitCode;
    event.status_id = attrs.exitCode === '0' ? Status.Success : Status.Failure;
    event.status = statusCaption(event.status_id as number);
  }
  return event;
}

function imageEvent(ev: DockerEngineEvent, verb: string): OcsfEvent {
  const attrs = ev.Actor.Attributes;
  const id = ev.Actor.ID.startsWith('sha256:') ? ev.Actor.ID : undefined;
  const reference = attrs.name ?? (id ? undefined : ev.Actor.ID);
  return {
    ...classify('application_lifecycle', IMAGE_ACTIVITY[verb] ?? 99, Severity.Informational, `Image ${caption(verb)}`),
    time: 0,
    metadata: metadataFor(),
    app: imageApp(reference, id),
  };
}

/** A volume mounted into or unmounted from a container: the mount point (the engine names it only on mount) and the
 * volume, whose name (`file.uid`) pairs the two events. */
function volumeMountEvent(verb: 'mount' | 'unmount', volume: string, destination: string | undefined): OcsfEvent {
  let file: Record<string, unknown>;
  if (destination) {
    const path = destination.length > 1 ? destination.replace(/\/+$/, '') : destination;
    const name = path === '/' ? '/' : path.slice(path.lastIndexOf('/') + 1);
    file = { name, path, type_id: 2, uid: volume };
  } else file = { name: volume, type_id: 2, uid: volume };
  return {
    ...classify('file_activity', verb === 'mount' ? 12 : 13, Severity.Informational),
    time: 0,
    metadata: metadataFor(),
    actor: { ...ENGINE_ACTOR },
    file,
  };
}

function otherEvent(ev: DockerEngineEvent): OcsfEvent {
  return {
    ...classify('base_event', 99, Severity.Informational, `${caption(ev.Type)} ${caption(actionVerb(ev.Action))}`),
    time: 0,
    metadata: metadataFor(),
  };
}

// Behaviour baselines per workload (container image by default): during a learning window, the executables it
// launches (1007 Launch), the destinations it connects to (4001), the files it writes under sensitive paths (1001)
// and the users that authenticate in it (3002) are learned; afterwards each new one produces a 2004 Detection
// Finding emitted beside the event. Known-bad container starts (privileged, SYS_ADMIN, sensitive host mounts) are
// findings from the first event, without learning. State is persisted atomically in the state directory.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComponentContext, Transform, TransformFactory } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { classify } from '../../ocsf/catalog.ts';
import { baseMetadata, type OcsfEvent } from '../../ocsf/event.ts';
import { parseFieldSelector, selectValues } from '../../policy/conditions.ts';
import { writeFileAtomic } from '../../state/atomic-file.ts';
import { severityId } from '../rules/config.ts';
import { type BaselineConfig, baselineSchema } from './config.ts';

const KINDS = ['executable', 'destination', 'file_write', 'user'] as const;
type Kind = (typeof KINDS)[number];

const PRODUCT = { name: 'Outrider', vendor_name: 'Outrider' };
const STATE_FILE = 'baseline.json';
/** File System Activity activities that change a file: create, update, rename, set attributes, set security. */
const WRITE_ACTIVITIES = new Set([1, 3, 5, 6, 7]);
const TITLES: Record<Kind, string> = {
  executable: 'Unexpected executable in workload',
  destination: 'Unexpected outbound destination from workload',
  file_write: 'Unexpected write under a sensitive path in workload',
  user: 'Unexpected user authenticated in workload',
};

interface Workload {
  /** When Outrider first saw the workload (ms): learning ends `learn_for` later. */
  first: number;
  items: Record<Kind, Set<string>>;
}

interface Observation {
  kind: Kind;
  value: string;
  evidence: Record<string, unknown>;
}

type SecurityFacts = {
  privileged?: boolean;
  cap_add?: string[];
  host_mounts?: Array<{ source: string; destination: string; sensitive?: boolean }>;
};

export class BaselineTransform implements Transform {
  private readonly workloads = new Map<string, Workload>();
  private readonly groupBy: Array<ReturnType<typeof parseFieldSelector>>;
  private ctx: ComponentContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private full = false;

  constructor(private readonly config: BaselineConfig) {
    this.groupBy = config.group_by.map(parseFieldSelector);
  }

  async start(ctx: ComponentContext): Promise<void> {
    this.ctx = ctx;
    await mkdir(ctx.stateDir, { recursive: true });
    await this.load();
    this.timer = setInterval(() => void this.persist(), this.config.persist_interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.persist();
  }

  process(events: Envelope[]): Envelope[] {
    let out: Envelope[] | undefined;
    const now = Date.now();
    for (let i = 0; i < events.length; i++) {
      const finding = this.inspect(events[i]!, now);
      if (finding && !out) out = events.slice(0, i + 1);
      else out?.push(events[i]!);
      if (finding) out!.push(finding);
    }
    return out ?? events;
  }

  private inspect(envelope: Envelope, now: number): Envelope | undefined {
    const event = envelope.event;
    const workload = this.workloadName(event);
    if (workload === undefined) return undefined;
    const bad = knownBadStart(event);
    if (bad.length > 0)
      return this.finding(envelope, workload, 'known_bad_start', bad.join(', '), {
        title: 'Container started with host-level privileges',
        severity: severityId(this.config.known_bad_severity),
        evidence: { data: { security: (event.unmapped?.docker as { security?: unknown } | undefined)?.security } },
      });
    const observed = observe(event, this.config.sensitive_paths);
    if (!observed) return undefined;
    let state = this.workloads.get(workload);
    if (!state) {
      if (this.workloads.size >= this.config.max_workloads) {
        if (!this.full)
          this.ctx?.logger.warn('baseline full: new workloads are not learned', { max: this.config.max_workloads });
        this.full = true;
        return undefined;
      }
      state = { first: now, items: emptyItems() };
      this.workloads.set(workload, state);
      this.dirty = true;
    }
    const known = state.items[observed.kind];
    if (known.has(observed.value)) return undefined;
    if (known.size >= this.config.max_items) return undefined;
    // Learned either way: a deviation is reported once, not on every repetition.
    known.add(observed.value);
    this.dirty = true;
    if (now - state.first < this.config.learn_for) return undefined;
    return this.finding(envelope, workload, observed.kind, observed.value, {
      title: TITLES[observed.kind],
      severity: severityId(this.config.severity),
      evidence: observed.evidence,
    });
  }

  private workloadName(event: OcsfEvent): string | undefined {
    for (const selector of this.groupBy) {
      const value = selectValues(event, selector)[0];
      if (typeof value === 'string' && value !== '') return value;
    }
    return undefined;
  }

  private finding(
    envelope: Envelope,
    workload: string,
    kind: Kind | 'known_bad_start',
    value: string,
    f: { title: string; severity: number; evidence: Record<string, unknown> },
  ): Envelope {
    const event = envelope.event;
    const container =
      (event.device as { container?: unknown } | undefined)?.container ??
      (event.process as { container?: unknown } | undefined)?.container;
    const uid = createHash('sha256')
      .update(`${kind}\0${workload}\0${value}\0${event.metadata.uid ?? event.time}`)
      .digest('hex')
      .slice(0, 32);
    const finding: OcsfEvent = {
      ...classify('detection_finding', 1, f.severity),
      time: event.time,
      metadata: {
        ...baseMetadata(PRODUCT, 'baseline'),
        uid,
        labels: ['baseline', kind],
        // The evidence carries the event's device and container: the same profiles apply.
        ...(event.metadata.profiles ? { profiles: [...event.metadata.profiles] } : {}),
      },
      message: `${f.title} ${workload}: ${value}`,
      is_alert: true,
      status_id: 1,
      status: 'New',
      finding_info: {
        uid,
        title: f.title,
        desc: `${kind === 'known_bad_start' ? 'Known-bad configuration' : `Not seen while learning (${kind})`}: ${value}`,
        analytic: {
          uid: `outrider.baseline.${kind}`,
          name: `baseline ${kind}`,
          type_id: kind === 'known_bad_start' ? 1 : 2,
          type: kind === 'known_bad_start' ? 'Rule' : 'Behavioral',
        },
        types: [kind],
        ...(event.metadata.uid
          ? { related_events: [{ uid: event.metadata.uid, type_uid: event.type_uid, severity_id: event.severity_id }] }
          : {}),
      },
      evidences: [
        {
          ...f.evidence,
          ...(container ? { container } : {}),
          ...(event.device ? { device: { ...event.device } } : {}),
          ...(event.metadata.uid ? { uid: event.metadata.uid } : {}),
          name: workload,
          data: { ...(f.evidence.data as Record<string, unknown> | undefined), event: eventReference(event) },
        },
      ],
      unmapped: { baseline: { workload, kind, value, event_uid: event.metadata.uid } },
    };
    // Copies, not the event's own device object: an object reachable twice in one event defeats the encoder's
    // splicing of the shared container JSON (src/core/envelope.ts).
    if (event.device) finding.device = { ...event.device };
    return {
      event: finding,
      source: envelope.source,
      raw: '',
      ...(envelope.container ? { container: envelope.container } : {}),
    };
  }

  private async load(): Promise<void> {
    const file = join(this.ctx!.stateDir, STATE_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return; // first start
    }
    try {
      const saved = JSON.parse(text) as { workloads: Record<string, { first: number; items: Record<Kind, string[]> }> };
      for (const [name, w] of Object.entries(saved.workloads).slice(0, this.config.max_workloads)) {
        const items = emptyItems();
        for (const kind of KINDS)
          for (const v of (w.items[kind] ?? []).slice(0, this.config.max_items)) items[kind].add(v);
        this.workloads.set(name, { first: w.first, items });
      }
    } catch (err) {
      this.ctx!.logger.error('baseline state unreadable: learning again', { file, error: err });
    }
  }

  private async persist(): Promise<void> {
    if (!this.dirty || !this.ctx) return;
    this.dirty = false;
    const workloads: Record<string, { first: number; items: Record<Kind, string[]> }> = {};
    for (const [name, w] of this.workloads) {
      const items = {} as Record<Kind, string[]>;
      for (const kind of KINDS) items[kind] = [...w.items[kind]];
      workloads[name] = { first: w.first, items };
    }
    try {
      await writeFileAtomic(join(this.ctx.stateDir, STATE_FILE), JSON.stringify({ version: 1, workloads }));
    } catch (err) {
      this.dirty = true;
      this.ctx.logger.error('baseline state not saved', { error: err });
    }
  }
}

/** What identifies the event a finding is about: its uid, or (engine events have none) its correlation and time. */
function eventReference(event: OcsfEvent): Record<string, unknown> {
  const { uid, correlation_uid, original_time } = event.metadata;
  return {
    ...(uid ? { uid } : {}),
    ...(correlation_uid ? { correlation_uid } : {}),
    ...(original_time ? { original_time } : {}),
    class_uid: event.class_uid,
    time: event.time,
  };
}

function emptyItems(): Record<Kind, Set<string>> {
  return { executable: new Set(), destination: new Set(), file_write: new Set(), user: new Set() };
}

/** What a well-known bad container start has (docker_events start with `unmapped.docker.security`). */
function knownBadStart(event: OcsfEvent): string[] {
  if (event.class_uid !== 6002 || event.activity_id !== 3) return [];
  const facts = (event.unmapped?.docker as { security?: SecurityFacts } | undefined)?.security;
  if (!facts) return [];
  const bad: string[] = [];
  if (facts.privileged) bad.push('privileged');
  if (facts.cap_add?.includes('SYS_ADMIN') || facts.cap_add?.includes('CAP_SYS_ADMIN')) bad.push('cap_add SYS_ADMIN');
  for (const m of facts.host_mounts ?? [])
    if (m.sensitive) bad.push(`host path ${m.source} mounted at ${m.destination}`);
  return bad;
}

function observe(event: OcsfEvent, sensitivePaths: readonly string[]): Observation | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: reads optional OCSF objects the mappers built; each use is checked.
  const e = event as OcsfEvent & Record<string, any>;
  if (event.class_uid === 1007 && event.activity_id === 1 && e.process) {
    const p = e.process;
    const value = p.file?.path ?? p.name ?? (typeof p.cmd_line === 'string' ? p.cmd_line.split(/\s+/)[0] : undefined);
    if (typeof value === 'string' && value) return { kind: 'executable', value, evidence: { process: p } };
  }
  if (event.class_uid === 4001 && e.dst_endpoint) {
    const d = e.dst_endpoint;
    const host = d.ip ?? d.hostname;
    if (host)
      return { kind: 'destination', value: d.port ? `${host}:${d.port}` : String(host), evidence: { dst_endpoint: d } };
  }
  if (event.class_uid === 1001 && WRITE_ACTIVITIES.has(event.activity_id) && typeof e.file?.path === 'string') {
    const path: string = e.file.path;
    if (sensitivePaths.some((p) => path.startsWith(p)))
      return { kind: 'file_write', value: path, evidence: { file: e.file } };
  }
  if (event.class_uid === 3002 && typeof e.user?.name === 'string')
    return { kind: 'user', value: e.user.name, evidence: { user: e.user } };
  return undefined;
}

export const baselineFactory: TransformFactory<BaselineConfig> = {
  kind: 'transform',
  type: 'baseline',
  description:
    'Learns each workload’s behaviour (executables, outbound destinations, sensitive file writes, users) for a window, then emits a 2004 Detection Finding beside every event that deviates; known-bad container starts are findings at once.',
  configSchema: baselineSchema,
  create: (config) => new BaselineTransform(config),
};

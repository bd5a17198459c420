// Falco alert → 2004 Detection Finding / 1 Create, per ../shared/ocsf/MAPPING.md section 5 "Falco alerts".
import { createHash } from 'node:crypto';
import type { ContainerRef } from '../../core/envelope.ts';
import type { FalcoAlert } from '../../parsers/falco.ts';
import { classify, Severity } from '../catalog.ts';
import { addProfiles, baseMetadata, type OcsfEvent, type OcsfProduct } from '../event.ts';
import { flagProblem } from '../problems.ts';
import { parseRfc3339 } from '../time.ts';
import { deviceObject, fileObject, mapSafely, Observables, ObservableType } from './common.ts';
import { containerObject } from './container.ts';

export const FALCO_PRODUCT: OcsfProduct = { name: 'Falco', vendor_name: 'The Falco Authors' };
const LOG_NAME = 'falco';

/** MAPPING.md's suggestion: Emergency/Alert/Critical 5 (not 6 Fatal: "too late to act" is not what Falco says). */
const PRIORITY_SEVERITY: Record<string, number> = {
  emergency: Severity.Critical,
  alert: Severity.Critical,
  critical: Severity.Critical,
  error: Severity.High,
  warning: Severity.Medium,
  notice: Severity.Low,
  informational: Severity.Informational,
  info: Severity.Informational,
  debug: Severity.Informational,
};

/** Falco's `mitre_*` tags → MITRE ATT&CK tactics. */
const TACTICS: Record<string, { uid: string; name: string }> = {
  mitre_reconnaissance: { uid: 'TA0043', name: 'Reconnaissance' },
  mitre_resource_development: { uid: 'TA0042', name: 'Resource Development' },
  mitre_initial_access: { uid: 'TA0001', name: 'Initial Access' },
  mitre_execution: { uid: 'TA0002', name: 'Execution' },
  mitre_persistence: { uid: 'TA0003', name: 'Persistence' },
  mitre_privilege_escalation: { uid: 'TA0004', name: 'Privilege Escalation' },
  mitre_defense_evasion: { uid: 'TA0005', name: 'Defense Evasion' },
  mitre_credential_access: { uid: 'TA0006', name: 'Credential Access' },
  mitre_discovery: { uid: 'TA0007', name: 'Discovery' },
  mitre_lateral_movement: { uid: 'TA0008', name: 'Lateral Movement' },
  mitre_collection: { uid: 'TA0009', name: 'Collection' },
  mitre_exfiltration: { uid: 'TA0010', name: 'Exfiltration' },
  mitre_command_and_control: { uid: 'TA0011', name: 'Command and Control' },
  mitre_impact: { uid: 'TA0040', name: 'Impact' },
};
const TECHNIQUE = /^T(\d{4})(?:\.(\d{3}))?$/;

export interface FalcoMapOptions {
  /** Host name when the alert has none. */
  hostname: string;
  onProblem?: (reason: string, detail: string) => void;
}

/** Maps one alert; never throws. `raw` is the alert line. */
export function mapFalcoAlert(alert: FalcoAlert, raw: string, options: FalcoMapOptions): OcsfEvent {
  const time = parseRfc3339(alert.time ?? '') ?? Date.now();
  return mapSafely(
    () => map(alert, raw, time, options),
    { product: FALCO_PRODUCT, logName: LOG_NAME, raw, time, hostname: alert.hostname ?? options.hostname },
    options.onProblem,
  );
}

function map(alert: FalcoAlert, raw: string, time: number, options: FalcoMapOptions): OcsfEvent {
  const priority = alert.priority ?? 'Warning';
  const severity = PRIORITY_SEVERITY[priority.toLowerCase()] ?? Severity.Medium;
  const fields = { ...(alert.output_fields ?? {}) };
  const metadata = baseMetadata(FALCO_PRODUCT, LOG_NAME);
  metadata.log_format = alert.text ? 'text' : 'JSON';
  if (alert.time) metadata.original_time = alert.time;
  const rule = alert.rule ?? `Falco ${priority} alert`;
  const uid = alert.uuid ?? `falco:${hashOf(rule, alert.time ?? '', alert.output ?? '')}`;
  if (alert.uuid) metadata.original_event_uid = alert.uuid;
  const event: OcsfEvent = {
    ...classify('detection_finding', 1, severity),
    status_id: 1,
    status: 'New',
    time,
    metadata,
    is_alert: true,
    raw_data: raw,
  };
  if (alert.output) event.message = stripTimePrefix(alert.output);
  const findingInfo: Record<string, unknown> = {
    uid,
    title: rule,
    analytic: { name: rule, type_id: 1, type: 'Rule' },
    product: FALCO_PRODUCT,
  };
  if (alert.output) findingInfo.desc = alert.output;
  if (alert.source) findingInfo.types = [alert.source];
  const attacks = attacksOf(alert.tags ?? []);
  if (attacks.length > 0) findingInfo.attacks = attacks;
  event.finding_info = findingInfo;
  const obs = new Observables();

  const take = (k: string): string | undefined => {
    const v = fields[k];
    delete fields[k];
    return v === undefined || v === null || v === '<NA>' || v === '' ? undefined : String(v);
  };
  const process: Record<string, unknown> = {};
  const pid = take('proc.pid');
  if (pid && /^\d+$/.test(pid)) process.pid = Number(pid);
  const pname = take('proc.name');
  if (pname) process.name = pname;
  const cmd = take('proc.cmdline');
  if (cmd) process.cmd_line = cmd;
  const exe = take('proc.exepath') ?? take('proc.exe');
  if (exe?.startsWith('/')) process.file = fileObject(exe);
  const cwd = take('proc.cwd');
  if (cwd) process.working_directory = cwd;
  const ppid = take('proc.ppid');
  const parentName = take('proc.pname');
  if ((ppid && /^\d+$/.test(ppid)) || parentName) {
    const parent: Record<string, unknown> = {};
    if (ppid && /^\d+$/.test(ppid)) parent.pid = Number(ppid);
    else parent.uid = 'unknown';
    if (parentName) parent.name = parentName;
    const pcmd = take('proc.pcmdline');
    if (pcmd) parent.cmd_line = pcmd;
    process.parent_process = parent;
  }
  const user: Record<string, unknown> = {};
  const userName = take('user.name');
  if (userName) user.name = userName;
  const userUid = take('user.uid');
  if (userUid) user.uid = userUid;
  const loginUid = take('user.loginuid');
  if (loginUid && loginUid !== '-1') process.auid = Number(loginUid);
  if (Object.keys(process).length > 0 && process.pid === undefined) process.uid = 'unknown';
  if (user.name || user.uid) process.user = user;

  const evidence: Record<string, unknown> = {};
  if (Object.keys(process).length > 0) {
    evidence.process = process;
    if (process.auid !== undefined) addProfiles(event, 'linux/linux_users');
  }
  const fdName = take('fd.name');
  if (fdName?.startsWith('/')) evidence.file = fileObject(fdName);
  else if (fdName) fields['fd.name'] = fdName;
  if (user.name || user.uid) evidence.user = user;

  const container = containerOf(fields);
  const device = deviceObject(alert.hostname ?? options.hostname);
  if (container) {
    const c = containerObject(container);
    if (c) {
      device.container = c;
      evidence.container = c;
      addProfiles(event, 'container');
      obs.add('device.container.uid', ObservableType.ResourceUid, c.uid, 'container uid');
    }
  }
  event.device = device;
  if (evidence.process || evidence.file || evidence.user) event.evidences = [evidence];

  obs.add('device.hostname', ObservableType.Hostname, device.hostname);
  obs.add('evidences[0].process.cmd_line', ObservableType.CommandLine, process.cmd_line);
  obs.add('evidences[0].process.name', ObservableType.ProcessName, process.name);
  obs.add('evidences[0].user.name', ObservableType.UserName, user.name);
  obs.add('evidences[0].file.path', ObservableType.FilePath, (evidence.file as { path?: string })?.path);
  obs.attach(event);

  const unmapped: Record<string, unknown> = { priority };
  if (alert.source) unmapped.source = alert.source;
  if (alert.tags) unmapped.tags = alert.tags;
  if (Object.keys(fields).length > 0) unmapped.output_fields = fields;
  event.unmapped = { falco: unmapped };
  if (alert.text) flagProblem(event, 'text alert: no rule name or fields (enable json_output in Falco)');
  return event;
}

/** The container the alert names, from Falco's `container.*` / `k8s.*` fields (removed from `fields`). */
function containerOf(fields: Record<string, unknown>): ContainerRef | undefined {
  const str = (k: string): string | undefined => {
    const v = fields[k];
    return typeof v === 'string' && v !== '' && v !== '<NA>' ? v : undefined;
  };
  const id = str('container.id');
  if (!id || id === 'host') return undefined;
  const ref: ContainerRef = { id };
  const name = str('container.name');
  if (name) ref.name = name;
  const image: NonNullable<ContainerRef['image']> = {};
  const imageId = str('container.image.id');
  if (imageId) image.id = imageId.startsWith('sha256:') ? imageId : `sha256:${imageId}`;
  const repo = str('container.image.repository');
  if (repo) image.name = repo;
  const tag = str('container.image.tag');
  if (tag) image.tag = tag;
  const digest = str('container.image.digest');
  if (digest) image.digest = digest;
  if (Object.keys(image).length > 0) ref.image = image;
  const ns = str('k8s.ns.name');
  const pod = str('k8s.pod.name');
  const podUid = str('k8s.pod.uid');
  if (ns || pod) ref.k8s = { ...(ns ? { namespace: ns } : {}), ...(pod ? { pod } : {}), ...(podUid ? { podUid } : {}) };
  for (const k of [
    'container.id',
    'container.name',
    'container.image.id',
    'container.image.repository',
    'container.image.tag',
    'container.image.digest',
    'k8s.ns.name',
    'k8s.pod.name',
    'k8s.pod.uid',
  ])
    delete fields[k];
  return ref;
}

function attacksOf(tags: string[]): Array<Record<string, unknown>> {
  const tactics = tags.filter((t) => TACTICS[t]).map((t) => TACTICS[t]!);
  const techniques = tags.map((t) => TECHNIQUE.exec(t)).filter((m): m is RegExpExecArray => m !== null);
  const attacks: Array<Record<string, unknown>> = [];
  for (const m of techniques) {
    const attack: Record<string, unknown> = { technique: { uid: `T${m[1]}` } };
    if (m[2]) attack.sub_technique = { uid: m[0] };
    if (tactics.length === 1) attack.tactic = tactics[0];
    attacks.push(attack);
  }
  if (techniques.length === 0 || tactics.length > 1) for (const t of tactics) attacks.push({ tactic: t });
  return attacks;
}

/** Falco prefixes `output` with the time and priority; the message without them reads better. */
function stripTimePrefix(output: string): string {
  return output.replace(/^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d{2}:?\d{2}): /, '');
}

function hashOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0001')).digest('hex').slice(0, 32);
}

// The security formats (auditd, k8s-audit, falco, syslog-auth, nginx) on the public corpora: every output compared
// with the reviewed golden files under test/golden/<family>/ (UPDATE_GOLDEN=1 rewrites them), counted (one event per
// record), validated with the independent OCSF validator, plus targeted assertions on the fields that matter.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { normalise } from '../../src/cli/normalise.ts';
import type { DecodedEvent } from '../../src/formats/decoder.ts';
import { findFormat } from '../../src/formats/index.ts';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { shellQuote } from '../../src/ocsf/mappers/common.ts';
import { sniffContent } from '../../src/ocsf/mappers/container-content.ts';
import { parseJsonMessage } from '../../src/parsers/json.ts';
import { ContainerLogDecoder } from '../../src/sources/container_logs/decoder.ts';
import { containerFromPath } from '../../src/sources/container_logs/path-meta.ts';
import { checkActions, readActionTable } from '../support/action-table.ts';
import { CORPORA, REPO_ROOT, recordOutput, validateOcsf } from '../support/output.ts';
import { decodeRealSessions, loadRealSessions, RECORDED_FORMATS, syslogFormsDiffer } from '../support/real-sessions.ts';

/** RFC 3164 lines have no year: pinned so golden files do not change with the calendar. */
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const GOLDEN = join(REPO_ROOT, 'test', 'golden');

interface Decoded {
  events: OcsfEvent[];
  problems: string[];
  lines: string[];
}

function decodeText(format: string, text: string, path: string, options?: unknown, hostname = 'golden-host'): Decoded {
  const problems: string[] = [];
  const f = findFormat(format);
  if (!f) throw new Error(`format ${format} not registered`);
  const decoder = f.createDecoder({ source: 'golden', hostname, path, onProblem: (r) => problems.push(r) }, options);
  const out: DecodedEvent[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let offset = 0;
  for (const line of lines) {
    decoder.push(line, { start: offset, flags: 0 }, out);
    offset += Buffer.byteLength(line) + 1;
  }
  decoder.flush(out);
  return { events: out.map((d) => d.event), problems, lines };
}

function corpusFiles(dir: string, ext: RegExp): string[] {
  const root = join(CORPORA, dir);
  return readdirSync(root).flatMap((sub) =>
    readdirSync(join(root, sub))
      .filter((n) => ext.test(n))
      .map((n) => join(root, sub, n)),
  );
}

/** Events of bad lines carry the time of the previous record, or the read time when there is none: not golden. */
function stable(e: OcsfEvent): OcsfEvent {
  const problems = (e.unmapped as { outrider_problems?: string[] } | undefined)?.outrider_problems;
  if (e.class_uid === 0 && problems?.some((p) => /not a|Unparsed|JSON/.test(p))) return { ...e, time: 0 };
  return e;
}

function checkGolden(family: string, file: string, events: OcsfEvent[], name?: string): void {
  const target = join(GOLDEN, family, `${name ?? relative(join(CORPORA), file).replace(/[/]/g, '__')}.ndjson`);
  const text = events.map((e) => JSON.stringify(stable(e))).join('\n') + (events.length ? '\n' : '');
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(target)) {
    mkdirSync(join(GOLDEN, family), { recursive: true });
    writeFileSync(target, text);
  }
  expect(text, `golden ${relative(REPO_ROOT, target)}`).toBe(readFileSync(target, 'utf8'));
}

function runFamily(family: string, format: string, files: string[], options?: unknown): Map<string, Decoded> {
  const results = new Map<string, Decoded>();
  const all: OcsfEvent[] = [];
  for (const file of files) {
    const d = decodeText(format, readFileSync(file, 'utf8'), relative(CORPORA, file), options);
    checkGolden(family, file, d.events);
    results.set(relative(CORPORA, file), d);
    all.push(...d.events);
  }
  const result = validateOcsf(recordOutput(`unit/security-${family}`, all));
  if (result) expect(result.failed, result.output).toBe(0);
  return results;
}

const nonEmpty = (lines: string[]) => lines.filter((l) => l.trim() !== '').length;
const byName = (m: Map<string, Decoded>, name: string) => [...m].find(([k]) => k.endsWith(name))![1];

describe('auditd', () => {
  const results = runFamily('auditd', 'auditd', corpusFiles('auditd', /\.log$/));

  it('emits one event per audit event (serial), unparseable lines one each', () => {
    for (const [name, d] of results) {
      const stamps = new Set<string>();
      let bad = 0;
      for (const l of d.lines) {
        if (l.trim() === '') continue;
        const m = /audit\(([^)]*)\)/.exec(l);
        if (m && !/type=UNKNOWN\[\d+\] msg=\?$/.test(l)) stamps.add(m[1]!);
        else bad++;
      }
      expect(d.events.length, name).toBe(stamps.size + bad);
    }
  });

  it("reads auditd 3's ENRICHED format: interpreted fields after a \\x1d separator (a live connect record)", () => {
    // Captured from this project's auditd (log_format = ENRICHED) during the baseline test.
    const GS = '\x1d';
    const text = [
      `type=SYSCALL msg=audit(1795431131.858:1194): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=1f7ce714 a2=10 a3=7fff232c0f7c items=0 ppid=4048 pid=4055 auid=4294967295 uid=4243 gid=0 euid=4243 suid=4243 fsuid=4243 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="nc" exe="/bin/busybox" key="outrider-baseline-3850"${GS}ARCH=x86_64 SYSCALL=connect AUID="unset" UID="unknown(4243)" GID="root" EUID="unknown(4243)" SUID="unknown(4243)" FSUID="unknown(4243)" EGID="root" SGID="root" FSGID="root"`,
      `type=SOCKADDR msg=audit(1795431131.858:1194): saddr=02001F907F0000010000000000000000${GS}SADDR={ saddr_fam=inet laddr=127.0.0.1 lport=8080 }`,
      'type=PROCTITLE msg=audit(1795431131.858:1194): proctitle=6E63003132372E302E302E310038303830',
      'type=EOE msg=audit(1795431131.858:1194): ',
    ].join('\n');
    const { events } = decodeText('auditd', text, '/var/log/audit/audit.log');
    expect(events).toHaveLength(1);
    const e = events[0]! as OcsfEvent & { dst_endpoint?: unknown; connection_info?: { direction_id?: number } };
    expect([e.class_uid, e.activity_id]).toEqual([4001, 1]);
    expect(e.dst_endpoint).toEqual({ ip: '127.0.0.1', port: 8080 });
    expect(e.connection_info?.direction_id).toBe(2);
    const v = validateOcsf(recordOutput('unit/auditd-enriched-format', events));
    if (v) expect(v.failed, v.output).toBe(0);
  });

  it('decodes hex EXECVE arguments into the command line (EXECVE alone: Base Event, flagged)', () => {
    const [only] = byName(results, 'auditd-execve-hex-arg.log').events;
    expect(only!.class_uid).toBe(0);
    expect(JSON.stringify(only!.unmapped)).toContain('echo \\\\\\"arg hex encoded\\\\\\"');
    expect((only!.unmapped as { outrider_problems: string[] }).outrider_problems[0]).toMatch(/SYSCALL record missing/);
  });

  it('maps an execve group to Process Activity Launch with identities, cwd and the full command line', () => {
    const launches = [...results.values()]
      .flatMap((d) => d.events)
      .filter((e) => e.type_uid === 100701 && /syscall=/.test(e.raw_data ?? ''));
    expect(launches.length).toBeGreaterThan(10);
    const withArgs = launches.find((e) => (e.process as { name?: string }).name === 'base64');
    expect(withArgs).toBeDefined();
    for (const e of launches) {
      expect(e.launch_type_id).toBe(3);
      expect(e.metadata.original_event_uid).toMatch(/^\d+\.\d+:\d+$/);
      // A process in a login session shares the session's correlation uid; any other is its own event.
      const ses = / ses=(\d+)/.exec(e.raw_data ?? '')?.[1];
      if (ses && ses !== '4294967295')
        expect(e.metadata.correlation_uid).toMatch(new RegExp(`^golden-host:ses${ses}:`));
      else expect(e.metadata.correlation_uid).toBe(e.metadata.original_event_uid);
    }
    const full = launches.find((e) => (e.process as { working_directory?: string }).working_directory);
    expect(full!.metadata.profiles).toContain('linux/linux_users');
    expect(full!.process).toMatchObject({ pid: expect.any(Number), user: { uid: expect.any(String) } });
  });

  it('groups interleaved and out-of-order records exactly as in order', () => {
    const normal = byName(results, 'reassembler-normal.log').events;
    const shuffled = byName(results, 'reassembler-out_of_order.log').events;
    const key = (e: OcsfEvent) => `${e.metadata.original_event_uid} ${e.type_uid}`;
    expect(shuffled.map(key).sort()).toEqual(normal.map(key).sort());
  });

  it('maps user-space records: useradd → Account Change, groupadd → Group Management, PAM → Authentication', () => {
    const ev = byName(results, 'auditd-useradd.log').events;
    const create = ev.find((e) => e.type_uid === 300101)!;
    expect(create.user).toEqual({ uid: '1004' });
    expect(create.src_endpoint).toEqual({ ip: '127.0.0.1', hostname: 'ubuntu-bionic' });
    expect(ev.filter((e) => e.class_uid === 3006)).toHaveLength(3);
    const chauthtok = ev.find((e) => e.type_uid === 300103)!;
    expect(chauthtok.user).toEqual({ name: 'charlie' });
    // chfn authenticates its user: an authentication, not a logon.
    const auth = ev.find((e) => e.class_uid === 3002 && (e.service as { name: string }).name === 'chfn')!;
    expect(auth).toMatchObject({
      activity_id: 99,
      activity_name: 'Authenticate',
      status_id: 1,
      user: { name: 'root' },
    });
  });

  it('takes the client port and method sshd writes on RHEL (op=pubkey_auth rport=…) for the join with the auth log', () => {
    const auth = byName(results, 'audit-rhel7.log').events.find((e) => (e.raw_data ?? '').includes('op=pubkey_auth'))!;
    expect(auth).toMatchObject({
      class_uid: 3002,
      activity_name: 'Authenticate',
      auth_protocol: 'publickey',
      src_endpoint: { ip: '96.241.146.97', port: 63927 },
      logon_type_id: 10,
      user: { name: 'andrew_kroh' },
    });
  });

  it('parses the ausearch -i interpreted form (local time, names, unquoted values)', () => {
    const text = [
      'type=PROCTITLE msg=audit(11/23/2026 10:15:01.250:812) : proctitle=bash -c ls /tmp',
      'type=PATH msg=audit(11/23/2026 10:15:01.250:812) : item=0 name=/usr/bin/bash inode=1 dev=08:01 mode=file,755 ouid=root ogid=root rdev=00:00 nametype=NORMAL',
      'type=CWD msg=audit(11/23/2026 10:15:01.250:812) : cwd=/root',
      'type=EXECVE msg=audit(11/23/2026 10:15:01.250:812) : argc=3 a0=bash a1=-c a2=ls /tmp',
      'type=SYSCALL msg=audit(11/23/2026 10:15:01.250:812) : arch=x86_64 syscall=execve success=yes exit=0 a0=0x1 a1=0x2 a2=0x3 a3=0x0 items=2 ppid=100 pid=101 auid=alice uid=root gid=root euid=root suid=root fsuid=root egid=root sgid=root fsgid=root tty=pts0 ses=3 comm=bash exe=/usr/bin/bash key=outrider-test',
      '----',
    ].join('\n');
    const { events } = decodeText('auditd', text, 'ausearch.txt');
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.type_uid).toBe(100701);
    expect(e.time).toBe(new Date(2026, 10, 23, 10, 15, 1, 250).getTime());
    expect(e.process).toMatchObject({ pid: 101, cmd_line: "bash -c 'ls /tmp'", user: { name: 'root' } });
    expect(e.actor).toMatchObject({ user: { name: 'alice' } });
    expect(e.metadata.labels).toEqual(['outrider-test']);
    const result = validateOcsf(recordOutput('unit/security-auditd-interpreted', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('joins aN_len / aN[i] split arguments and keeps unknown record types under unmapped', () => {
    const text = [
      'type=SYSCALL msg=audit(1700000000.100:7): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 egid=0 ses=1 tty=pts0 comm="sh" exe="/bin/sh" key="k"',
      'type=EXECVE msg=audit(1700000000.100:7): argc=2 a0="sh" a1_len=10 a1[0]=68656C6C6F a1[1]=20776F726C',
      'type=EXECVE msg=audit(1700000000.100:7): a1[2]=64',
      'type=WEIRD_NEW_TYPE msg=audit(1700000000.100:7): foo=bar',
      'type=EOE msg=audit(1700000000.100:7):',
    ].join('\n');
    const { events } = decodeText('auditd', text, 'split.log');
    expect(events).toHaveLength(1);
    expect((events[0]!.process as { cmd_line: string }).cmd_line).toBe("sh 'hello world'");
    expect((events[0]!.unmapped as { audit: { records: unknown[] } }).audit.records).toEqual([
      { type: 'WEIRD_NEW_TYPE', foo: 'bar' },
    ]);
  });

  it('maps connect with SOCKADDR to Network Activity and attributes the pid to a container through the hook', () => {
    const text = [
      'type=SYSCALL msg=audit(1669615500.333:5710): arch=c000003e syscall=42 success=yes exit=0 ppid=1 pid=4501 auid=4294967295 uid=0 comm="curl" exe="/usr/bin/curl" key="net"',
      'type=SOCKADDR msg=audit(1669615500.333:5710): saddr=020001BBC6336414',
      'type=EOE msg=audit(1669615500.333:5710):',
    ].join('\n');
    const f = findFormat('auditd')!;
    const d = f.createDecoder(
      { source: 't', hostname: 'h', onProblem: () => {} },
      { attributePid: (pid: number) => (pid === 4501 ? { id: 'a'.repeat(64), name: 'web' } : undefined) },
    );
    const out: DecodedEvent[] = [];
    let off = 0;
    for (const l of text.split('\n')) {
      d.push(l, { start: off, flags: 0 }, out);
      off += l.length + 1;
    }
    expect(out).toHaveLength(1);
    const e = out[0]!.event;
    expect(e.type_uid).toBe(400101);
    expect(e.dst_endpoint).toEqual({ ip: '198.51.100.20', port: 443 });
    expect((e.device as { container: unknown }).container).toEqual({ uid: 'a'.repeat(64), name: 'web' });
    expect((e.actor as { process: { container: unknown } }).process.container).toBeDefined();
    expect(e.metadata.profiles).toEqual(expect.arrayContaining(['container', 'host']));
    const result = validateOcsf(recordOutput('unit/security-auditd-network', [e]));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('holds an open group (heldFrom = its first byte) until EOE or the timeout', () => {
    const d = findFormat('auditd')!.createDecoder(
      { source: 't', hostname: 'h', onProblem: () => {} },
      { groupTimeout: 100 },
    );
    const out: DecodedEvent[] = [];
    d.push(
      'type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 success=yes exit=0 pid=5',
      { start: 40, flags: 0 },
      out,
    );
    d.push(
      'type=SYSCALL msg=audit(1.000:2): arch=c000003e syscall=59 success=yes exit=0 pid=6',
      { start: 120, flags: 0 },
      out,
    );
    expect(d.heldFrom()).toBe(40);
    d.push('type=EOE msg=audit(1.000:1):', { start: 200, flags: 0 }, out);
    expect(out).toHaveLength(1);
    expect(d.heldFrom()).toBe(120);
    d.flushExpired(Date.now() + 1000, out);
    expect(out).toHaveLength(2);
    expect(d.heldFrom()).toBeUndefined();
  });
});

describe('k8s-audit', () => {
  const files = corpusFiles('k8s-audit', /\.(json|log)$/);
  const results = runFamily('k8s-audit', 'k8s-audit', files);

  it('emits one event per auditID (stages merged), bad lines one each', () => {
    for (const [name, d] of results) {
      const ids = new Set<string>();
      let bad = 0;
      for (const l of d.lines) {
        if (l.trim() === '') continue;
        const m = /"auditID":"([^"]+)"/.exec(l);
        if (m) ids.add(m[1]!);
        else bad++;
      }
      expect(d.events.length, name).toBe(ids.size + bad);
    }
  });

  it('never forwards ConfigMap/Secret values in clear, and says what was masked', () => {
    const d = byName(results, 'create_configmap_sensitive_values.json');
    const text = JSON.stringify(d.events);
    expect(text).not.toContain('MY-KEY');
    expect(text).not.toContain('aws_secret_access_key');
    const masked = (d.events[0]!.unmapped as { outrider_masked: string[] }).outrider_masked;
    expect(masked).toContain('requestObject.data.access.properties');
  });

  it('maps verb, user, source IP, resource and response code', () => {
    const e = byName(results, 'k8s-audit-pod-exec-file.log').events[0]!;
    expect(e).toMatchObject({
      class_uid: 6003,
      activity_id: 1,
      status_id: 1,
      status_code: '101',
      api: { operation: 'create', request: { uid: '57a794de-44d3-40ee-a0ad-c0eb096eef6c' }, response: { code: 101 } },
      actor: { user: { name: 'minikube-user' } },
      src_endpoint: { ip: '192.168.49.1' },
      resources: [{ type: 'pods/exec', name: 'test-pod-1', namespace: 'foo' }],
    });
    expect(e.time).toBe(Date.parse('2023-05-17T15:08:30.619Z'));
    expect(e.start_time).toBe(Date.parse('2023-05-17T15:08:22.763Z'));
  });

  it('merges RequestReceived into ResponseComplete, keeps Panic, and can drop RequestReceived instead', () => {
    const base = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      verb: 'delete',
      user: { username: 'bob' },
      sourceIPs: ['10.0.0.9'],
      objectRef: { resource: 'clusterrolebindings', name: 'admin-binding', apiGroup: 'rbac.authorization.k8s.io' },
    };
    const lines = [
      {
        ...base,
        auditID: 'a1',
        stage: 'RequestReceived',
        requestReceivedTimestamp: '2026-11-23T10:00:00.000Z',
        stageTimestamp: '2026-11-23T10:00:00.000Z',
      },
      {
        ...base,
        auditID: 'a2',
        stage: 'Panic',
        stageTimestamp: '2026-11-23T10:00:00.500Z',
        responseStatus: { code: 500 },
      },
      {
        ...base,
        auditID: 'a1',
        stage: 'ResponseComplete',
        requestReceivedTimestamp: '2026-11-23T10:00:00.000Z',
        stageTimestamp: '2026-11-23T10:00:01.000Z',
        responseStatus: { code: 200 },
      },
    ].map((o) => JSON.stringify(o));
    const merged = decodeText('k8s-audit', lines.join('\n'), 'stages.log');
    expect(merged.events.map((e) => (e.unmapped as { stage: string }).stage)).toEqual(['Panic', 'ResponseComplete']);
    expect((merged.events[1]!.unmapped as { merged_stages: string[] }).merged_stages).toEqual(['RequestReceived']);
    expect(merged.events[1]!.raw_data).toBe(`${lines[0]}\n${lines[2]}`);
    expect(merged.events[0]).toMatchObject({ status_id: 2, severity_id: 3 });
    const dropped = decodeText('k8s-audit', lines.join('\n'), 'stages.log', { stages: 'complete_only' });
    expect(dropped.events).toHaveLength(2);
    expect(dropped.events[1]!.raw_data).toBe(lines[2]);
    const result = validateOcsf(recordOutput('unit/security-k8s-stages', [...merged.events, ...dropped.events]));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('falco', () => {
  const results = runFamily('falco', 'falco', corpusFiles('falco-alerts', /\.(json|txt)$/));

  it('emits one Detection Finding per alert line with the priority mapped to severity', () => {
    for (const [name, d] of results) {
      expect(d.events.length, name).toBe(nonEmpty(d.lines));
      for (const e of d.events)
        expect(e).toMatchObject({ class_uid: 2004, type_uid: 200401, severity_id: 3, is_alert: true });
    }
    const json = byName(results, 'single_rule_with_cat_write.json').events[0]!;
    expect(json.finding_info).toMatchObject({
      title: 'open_from_cat',
      analytic: { name: 'open_from_cat', type_id: 1 },
    });
    expect(json.evidences).toEqual([{ process: { cmd_line: 'cat /dev/null', uid: 'unknown' } }]);
  });

  it('takes container, process and MITRE facts from a full alert', () => {
    const alert = {
      output: '10:00:00.000000000: Critical Shell spawned (user=root container_id=0123456789ab image=nginx)',
      priority: 'Critical',
      rule: 'Terminal shell in container',
      source: 'syscall',
      tags: ['container', 'mitre_execution', 'T1059'],
      time: '2026-11-23T10:00:00.123456789Z',
      hostname: 'node-1',
      uuid: '4f0e7a8c-1b2d-4c3e-9f8a-7b6c5d4e3f2a',
      output_fields: {
        'container.id': '0123456789ab',
        'container.name': 'web',
        'container.image.repository': 'nginx',
        'container.image.tag': '1.27',
        'proc.pid': 4242,
        'proc.name': 'bash',
        'proc.cmdline': 'bash -i',
        'proc.ppid': 4200,
        'proc.pname': 'runc',
        'user.name': 'root',
        'user.uid': 0,
        'evt.type': 'execve',
      },
    };
    const { events } = decodeText('falco', JSON.stringify(alert), 'alert.json');
    const e = events[0]!;
    expect(e.severity_id).toBe(5);
    expect(e.metadata.original_event_uid).toBe(alert.uuid);
    expect((e.finding_info as { attacks: unknown }).attacks).toEqual([
      { technique: { uid: 'T1059' }, tactic: { uid: 'TA0002', name: 'Execution' } },
    ]);
    expect((e.device as { container: unknown }).container).toEqual({ uid: '0123456789ab', name: 'web' });
    expect((e.evidences as Array<{ process: unknown }>)[0]!.process).toMatchObject({
      pid: 4242,
      name: 'bash',
      cmd_line: 'bash -i',
      parent_process: { pid: 4200, name: 'runc' },
      user: { name: 'root', uid: '0' },
    });
    expect((e.unmapped as { falco: { output_fields: unknown } }).falco.output_fields).toEqual({ 'evt.type': 'execve' });
    const result = validateOcsf(recordOutput('unit/security-falco-full', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('syslog-auth', () => {
  const results = runFamily('syslog-auth', 'syslog-auth', corpusFiles('sshd-auth', /\.log$/), { now: NOW });

  it('emits one event per line', () => {
    for (const [name, d] of results) expect(d.events.length, name).toBe(nonEmpty(d.lines));
  });

  it('maps accepted, failed and invalid-user sshd logins, sudo and useradd', () => {
    const ev = byName(results, 'auth-test.log').events;
    const accepted = ev.find((e) => e.auth_protocol === 'publickey')!;
    expect(accepted).toMatchObject({
      type_uid: 300201,
      status_id: 1,
      user: { name: 'vagrant' },
      src_endpoint: { ip: '10.0.2.2', port: 63673 },
      auth_protocol_id: 99,
      is_remote: true,
      logon_type_id: 10,
      service: { name: 'sshd' },
      dst_endpoint: { hostname: 'localhost' },
      actor: { process: { pid: 3402, name: 'sshd' } },
    });
    expect(accepted.time).toBe(Date.UTC(2026, 1, 21, 21, 54, 44));
    expect(accepted.metadata.original_time).toBe('Feb 21 21:54:44');
    const failed = ev.find((e) => e.status_id === 2 && e.auth_protocol === 'password')!;
    expect(failed).toMatchObject({ user: { name: 'root' }, src_endpoint: { ip: '216.160.83.57', port: 29160 } });
    const invalid = ev.find((e) => (e.unmapped as { auth?: { invalid_user?: boolean } })?.auth?.invalid_user)!;
    expect(invalid).toMatchObject({ status_id: 2, status_detail: 'Invalid user', user: { name: 'test' } });
    const sudo = ev.filter((e) => e.type_uid === 300207);
    expect(sudo).toHaveLength(3);
    expect(sudo[0]).toMatchObject({
      actor: { user: { name: 'vagrant' } },
      user: { name: 'root' },
      account_switch_type_id: 1,
    });
    expect(sudo.find((e) => e.status_id === 2)!.status_detail).toBe('user NOT in sudoers');
    expect(ev.find((e) => e.type_uid === 300101)!.user).toEqual({ name: 'apache', uid: '48' });
    expect(ev.find((e) => e.type_uid === 300606)!.group).toEqual({ name: 'apache', uid: '48' });
  });

  it('reads RFC 5424 and journald JSON, and bare sshd stderr lines', () => {
    const opn = byName(results, 'opnsense-sshd.log').events[0]!;
    // "Invalid user" is a step of the failed logon ("Failed password for invalid user …" is the logon).
    expect(opn).toMatchObject({
      type_uid: 300299,
      activity_name: 'Invalid User',
      status_id: 2,
      user: { name: 'tutu' },
      timezone_offset: 0,
    });
    expect(opn.time).toBe(Date.parse('2022-01-19T14:23:55Z'));
    const journald = JSON.stringify({
      __REALTIME_TIMESTAMP: '1795407100123456',
      _HOSTNAME: 'node-1',
      SYSLOG_IDENTIFIER: 'sshd',
      _PID: '13990',
      MESSAGE: 'Accepted publickey for deploy from 2001:db8::7 port 40022 ssh2: ED25519 SHA256:abc',
    });
    const bare = 'Failed password for invalid user admin from 127.0.0.1 port 50000 ssh2';
    const { events } = decodeText('syslog-auth', `${journald}\n${bare}`, 'mixed.log', { now: NOW });
    expect(events[0]).toMatchObject({
      time: 1795407100123,
      user: { name: 'deploy' },
      src_endpoint: { ip: '2001:db8::7' },
    });
    expect(events[0]!.unmapped).toMatchObject({ auth: { key: { type: 'ED25519', fingerprint: 'SHA256:abc' } } });
    expect(events[1]).toMatchObject({ type_uid: 300201, status_id: 2, metadata: { product: { name: 'OpenSSH' } } });
    const result = validateOcsf(recordOutput('unit/security-syslog-forms', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('nginx', () => {
  const results = runFamily('nginx', 'nginx', corpusFiles('nginx-access', /\.log$/));

  it('emits one event per line', () => {
    for (const [name, d] of results) expect(d.events.length, name).toBe(nonEmpty(d.lines));
  });

  it('maps a combined line to HTTP Activity and an error line to Application Error', () => {
    const bf = byName(results, 'nginx-http-backdoor.log').events[0]!;
    expect(bf).toMatchObject({
      class_uid: 4002,
      type_uid: 400203,
      status_id: 2,
      status_code: '404',
      http_request: {
        http_method: 'GET',
        url: { path: '/Worse_Linux_Shell.php' },
        version: 'HTTP/1.1',
        user_agent: 'curl/7.68.0',
      },
      http_response: { code: 404, length: 162 },
      src_endpoint: { ip: '127.0.0.1' },
      timezone_offset: 120,
    });
    expect(bf.time).toBe(Date.parse('2021-09-29T13:49:49Z'));
    const err = byName(results, 'nginx_req_limit_exceeded.log').events[0]!;
    expect(err).toMatchObject({ class_uid: 6008, type_uid: 600801, severity_id: 3 });
    expect(err.unmapped).toMatchObject({ client: '::1', request: 'GET / HTTP/1.1', host: 'la03.d.sb' });
    const malformed = byName(results, 'nginx-http-malformed.log').events[0]!;
    expect(malformed).toMatchObject({ class_uid: 4002, activity_id: 99, http_response: { code: 400 } });
    expect(malformed.http_request).toBeUndefined();
  });

  it('reads JSON access lines', () => {
    const line = JSON.stringify({
      time_iso8601: '2026-11-23T10:00:00+00:00',
      remote_addr: '10.1.2.3',
      request: 'POST /login?next=/ HTTP/2.0',
      status: '401',
      body_bytes_sent: '15',
      http_user_agent: 'curl/8.5.0',
      http_x_forwarded_for: '203.0.113.9',
      request_time: '0.004',
    });
    const { events } = decodeText('nginx', line, 'json.log');
    expect(events[0]).toMatchObject({
      type_uid: 400206,
      status_id: 2,
      http_request: {
        http_method: 'POST',
        url: { path: '/login', query_string: 'next=/' },
        x_forwarded_for: ['203.0.113.9'],
      },
      unmapped: { request_time: '0.004' },
    });
    const result = validateOcsf(recordOutput('unit/security-nginx-json', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('reads the tokens some formats put before the client address: a virtual host, or proxies', () => {
    const tail = '- - [23/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8.5.0"';
    const { events } = decodeText(
      'nginx',
      [`shop.example:8443 10.1.2.3 ${tail}`, `203.0.113.9, 198.51.100.2 10.1.2.3 ${tail}`, `10.1.2.3 ${tail}`].join(
        '\n',
      ),
      'vhost.log',
    );
    expect(events.map((e) => e.src_endpoint)).toEqual([{ ip: '10.1.2.3' }, { ip: '10.1.2.3' }, { ip: '10.1.2.3' }]);
    expect(events[0]).toMatchObject({ dst_endpoint: { hostname: 'shop.example', port: 8443 } });
    expect(events[1]).toMatchObject({ http_request: { x_forwarded_for: ['203.0.113.9', '198.51.100.2'] } });
    expect(events[2]!.dst_endpoint).toBeUndefined();
    expect((events[2]!.http_request as { x_forwarded_for?: unknown }).x_forwarded_for).toBeUndefined();
  });
});

describe('container lines: content sniffing', () => {
  // As mapContainerLine calls it: with the line parsed when it is a JSON object.
  const sniff = (line: string) => sniffContent(line, parseJsonMessage(line));
  const container = { id: 'b'.repeat(64), name: 'edge', labels: {} as Record<string, string> };
  const record = (log: string) => JSON.stringify({ log: `${log}\n`, stream: 'stdout', time: '2026-11-23T10:00:00.5Z' });
  const decode = (lines: string[], content: 'auto' | 'none', labels: Record<string, string> = {}) => {
    const d = new ContainerLogDecoder(
      'docker-json',
      { source: 't', hostname: 'h', onProblem: () => {} },
      { maxMessageBytes: 1 << 20, partialTimeout: 5000, container: { ...container, labels }, content },
    );
    const out: DecodedEvent[] = [];
    lines.forEach((l, i) => {
      d.push(l, { start: i * 100, flags: 0 }, out);
    });
    d.flush(out);
    return out.map((o) => o.event);
  };
  const lines = [
    record('10.1.2.3 - - [23/Nov/2026:04:11:27 +0000] "GET /admin HTTP/1.1" 403 166 "-" "curl/8.5.0"'),
    record('Failed password for invalid user admin from 198.51.100.7 port 50022 ssh2'),
    record(
      JSON.stringify({
        rule: 'Terminal shell in container',
        priority: 'Warning',
        output: 'shell',
        time: '2026-11-23T10:00:00Z',
      }),
    ),
    record('listening on port 8080'),
  ];

  it('promotes nginx, sshd and Falco lines, keeping the container and the original record where the event does not hold it', () => {
    const events = decode(lines, 'auto');
    expect(events.map((e) => e.class_uid)).toEqual([4002, 3002, 2004, 0]);
    // The access line and the Falco alert are mapped into fields (their records are kept); the sshd and the plain
    // line are their messages, with the record's stream and time text beside them.
    expect(events.map((e) => e.raw_data)).toEqual([lines[0], undefined, lines[2], undefined]);
    for (const i of [1, 3]) {
      const e = events[i]!;
      const stream = (e.unmapped as { stream?: string } | undefined)?.stream ?? e.metadata.log_name;
      expect(JSON.stringify({ log: `${e.message}\n`, stream, time: e.metadata.original_time })).toBe(lines[i]);
    }
    for (const e of events) expect((e.device as { container: { name: string } }).container.name).toBe('edge');
    expect(events[1]).toMatchObject({
      status_id: 2,
      user: { name: 'admin' },
      time: Date.parse('2026-11-23T10:00:00.5Z'),
    });
    const result = validateOcsf(recordOutput('unit/security-container-sniffing', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('keeps Base Events with content none, and a container label overrides the source setting', () => {
    expect(decode(lines, 'none').map((e) => e.class_uid)).toEqual([0, 0, 0, 0]);
    expect(decode(lines, 'auto', { 'outrider.format': 'none' }).map((e) => e.class_uid)).toEqual([0, 0, 0, 0]);
    expect(decode(lines, 'none', { 'outrider.format': 'nginx' }).map((e) => e.class_uid)).toEqual([4002, 0, 0, 0]);
  });

  it('sniffs cheaply: plain lines are rejected without a regex match', () => {
    expect(sniff('GET /healthz 200')).toBeUndefined();
    expect(sniff('2026-11-23 INFO started')).toBeUndefined();
    expect(sniff('{"level":"info","msg":"x"}')).toBeUndefined();
    expect(sniff('type=SYSCALL msg=audit(1.000:1): syscall=59')).toBe('auditd');
    expect(sniff('{"kind":"Event","auditID":"x","stage":"ResponseComplete"}')).toBe('k8s-audit');
  });

  it('knows a JSON line by its top-level keys, not by words in its values or nested objects', () => {
    expect(sniff('{"rule":"r","priority":"Warning","output":"o"}')).toBe('falco');
    expect(sniff('{"status":200,"request_uri":"/x"}')).toBe('nginx');
    expect(sniff('{"msg":"the \\"rule\\" and \\"priority\\" fields","auditID":null}')).toBe('k8s-audit');
    expect(sniff('{"msg":"the \\"rule\\" and \\"priority\\" fields"}')).toBeUndefined();
    expect(sniff('{"http":{"status":200,"request":"GET / HTTP/1.1"}}')).toBeUndefined();
    expect(sniff('{"rule":"r","priority":')).toBeUndefined();
  });

  it('a JSON line a security mapper gives up on keeps its own fields in its Base Event', () => {
    // Sniffed as Kubernetes audit (auditID key), refused by its parser (no stage): the mapper had the parsed object.
    const fields = { auditID: '', stage: 7, msg: 'not an audit event', nested: { verb: 'get' } };
    const [event] = decode([record(JSON.stringify(fields))], 'auto');
    expect(event!.class_uid).toBe(0);
    const { msg, ...rest } = fields;
    expect(event!.message).toBe(msg);
    expect(event!.unmapped).toEqual({ fields: rest });
  });
});

describe('syslog-auth: journalctl -o export entries', () => {
  it('emits one event per entry (held until its empty line)', () => {
    const entry = [
      '__CURSOR=s=abc;i=1',
      '__REALTIME_TIMESTAMP=1795407100123456',
      '_HOSTNAME=node-1',
      'SYSLOG_IDENTIFIER=sshd',
      '_PID=4242',
      'MESSAGE=Failed password for root from 203.0.113.5 port 41000 ssh2',
    ];
    const text = [...entry, '', ...entry.map((l) => l.replace('i=1', 'i=2').replace('41000', '41001')), ''].join('\n');
    const { events } = decodeText('syslog-auth', text, 'journal.export', { now: NOW });
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      type_uid: 300201,
      status_id: 2,
      time: 1795407100123,
      user: { name: 'root' },
      src_endpoint: { ip: '203.0.113.5', port: 41000 },
      device: { hostname: 'node-1' },
      raw_data: entry.join('\n'),
    });
    const result = validateOcsf(recordOutput('unit/security-syslog-export', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('weird records never throw and stay valid OCSF', () => {
  const sources: Array<[string, string, RegExp]> = [
    ['auditd', 'auditd', /\.log$/],
    ['k8s-audit', 'k8s-audit', /\.(json|log)$/],
    ['falco', 'falco-alerts', /\.json$/],
    ['syslog-auth', 'sshd-auth', /\.log$/],
    ['nginx', 'nginx-access', /\.log$/],
  ];
  const shapes = [
    '{"auditID":"x","stage":"ResponseComplete","objectRef":"pods","user":5,"sourceIPs":"1.2.3.4","responseStatus":{"code":"500"}}',
    '{"auditID":"y","stage":"ResponseComplete","requestObject":{"kind":"Secret","data":"AAAA"},"objectRef":{"resource":"secrets"}}',
    '{"rule":"r","priority":"Warning","output_fields":null,"tags":"x","time":5}',
    '{"rule":"r","priority":"Nonsense","output_fields":{"proc.pid":"abc","container.id":7,"fd.name":null}}',
    'type=SYSCALL msg=audit(1.1:1): arch=zz syscall=abc success=maybe pid=-5 auid= uid= exe=ZZ',
    'type=PATH msg=audit(1.1:1): item=0 name=(null) nametype=DELETE mode=0',
    'type=EOE msg=audit(1.1:1):',
    "type=USER_LOGIN msg=audit(2.2:2): msg=''",
    'type=ADD_GROUP msg=audit(3.3:3): pid=1',
    '<999>1 - - - - - -',
    'Jan 99 99:99:99 host sshd[x]: Accepted password for  from  port 99999',
    '1.2.3.4 - - [99/Foo/2020:99:99:99 +9999] "GET" 999 -',
    '{"status":"abc","request":5}',
    '',
    '\u0000\u0001\u0002',
  ];

  it('cut lines, type confusion and garbage map to valid events', () => {
    const all: OcsfEvent[] = [];
    for (const [format, dir, ext] of sources) {
      const lines = corpusFiles(dir, ext).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
      const cut = lines.flatMap((l) => [l.slice(0, l.length / 3), l.slice(0, l.length / 2), l.slice(l.length / 2)]);
      const { events } = decodeText(format, [...cut, ...shapes].join('\n'), `weird.${format}`, { now: NOW });
      all.push(...events);
      expect(events.length, format).toBeGreaterThan(0);
      // A Secret's payload, whatever its shape, never leaves the k8s-audit decoder in clear.
      if (format === 'k8s-audit') expect(JSON.stringify(events).includes('AAAA'), 'secret in clear').toBe(false);
    }
    const result = validateOcsf(recordOutput('unit/security-weird', all));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('outrider normalise --format <security format>', () => {
  const cases: Array<[string, string, number]> = [
    ['auditd', join(CORPORA, 'auditd', 'elastic-beats', 'auditd-useradd.log'), 8],
    ['k8s-audit', join(CORPORA, 'k8s-audit', 'crowdsecurity-hub', 'k8s-audit-pod-exec-file.log'), 1],
    ['falco', join(CORPORA, 'falco-alerts', 'falcosecurity-falco', 'single_rule_with_cat_write.json'), 8],
    ['syslog-auth', join(CORPORA, 'sshd-auth', 'elastic-beats', 'auth-test.log'), 10],
    ['nginx', join(CORPORA, 'nginx-access', 'elastic-beats', 'nginx-access-test.log'), 7],
  ];

  it('writes one OCSF event per record through the CLI code path', async () => {
    const all: string[] = [];
    for (const [format, file, expected] of cases) {
      let text = '';
      const sink = new Writable({
        write(chunk, _enc, done) {
          text += chunk.toString();
          done();
        },
      });
      const summary = await normalise(format, file, sink, 'cli-host');
      const lines = text.split('\n').filter(Boolean);
      expect(summary.events, format).toBe(expected);
      expect(lines, format).toHaveLength(expected);
      all.push(...lines);
    }
    const result = validateOcsf(recordOutput('unit/security-cli-normalise', all));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('real sessions recorded by real daemons (test/corpus/real-sessions)', () => {
  // One run of test/support/real-sessions.sh: sshd, su, sudo, shadow-utils, auditd (ENRICHED), rsyslog, journald and
  // dockerd as they write. Golden files per recorded file; then the facts of what happened, field by field.
  const sessions = loadRealSessions(join(REPO_ROOT, 'test', 'corpus', 'real-sessions'));
  const env = sessions.env;
  const decoded = decodeRealSessions(sessions);
  // Golden files for each source's main forms; journalctl's short forms are held to RSYSLOG_FileFormat's reading below.
  for (const [file, events] of decoded)
    if (!file.startsWith('journal.short')) checkGolden('real-sessions', file, events, `real-sessions__${file}`);
  const all = [...decoded.values()].flat();
  const audit = decoded.get('audit.log')!;
  const auth = decoded.get('auth.file-format.log')!;
  const engine = decoded.get('docker-events.ndjson')!;
  const span = (name: string) => sessions.marks.find((m) => m.name === name)!;
  const within = (events: OcsfEvent[], name: string) =>
    events.filter((e) => e.time >= span(name).start - 50 && e.time <= span(name).end + 50);
  const user = (e: OcsfEvent) => e.user as { name?: string; uid?: string } | undefined;
  const actorUser = (e: OcsfEvent) => (e.actor as { user?: { name?: string; uid?: string } } | undefined)?.user;

  it('every event is valid OCSF', () => {
    const result = validateOcsf(recordOutput('unit/real-sessions', all));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('gives each action the events docs/ocsf-mapping.md lists, from every source (one decisive event per action)', () => {
    const rows = readActionTable();
    expect(rows.length).toBeGreaterThan(40);
    for (const source of ['auth log', 'auditd', 'docker events'] as const)
      expect(rows.some((r) => r.source === source)).toBe(true);
    const problems = [
      ...checkActions(rows, sessions.marks, 'auth log', auth),
      ...checkActions(rows, sessions.marks, 'auditd', audit),
      ...checkActions(rows, sessions.marks, 'docker events', engine),
    ];
    expect(problems).toEqual([]);
  });

  it('1. the actor of su and sudo is the invoking user, the target the account switched to; sshd is nobody', () => {
    const ua = { name: env.UA, uid: env.UIDA };
    const failedSu = within(auth, 'su-failed').find((e) => e.activity_id === 7)!;
    expect(failedSu).toMatchObject({ status: 'Failure', user: { name: 'root' }, actor: { user: { name: env.UA } } });
    const pamSu = within(auth, 'su-failed').find((e) => e.activity_name === 'Authenticate')!;
    expect([user(pamSu), actorUser(pamSu)]).toEqual([{ name: 'root' }, ua]);
    const auditSu = within(audit, 'su-failed').find((e) => e.class_uid === 3002)!;
    expect(auditSu).toMatchObject({ activity_id: 7, status: 'Failure', user: { name: 'root' } });
    expect(actorUser(auditSu)).toEqual(ua);
    // Inside an ssh login the login uid names the invoker.
    const inSession = within(audit, 'ssh-login-su-failed').find((e) => e.activity_id === 7)!;
    expect([user(inSession), actorUser(inSession)]).toEqual([{ name: 'root' }, ua]);
    // sudo's line names the invoker; its audit record has the invoker's uid (and its ENRICHED name).
    const refusedLine = within(auth, 'sudo-refused').find((e) => e.activity_id === 7)!;
    expect([refusedLine.status, user(refusedLine), actorUser(refusedLine)]).toEqual([
      'Failure',
      { name: 'root' },
      { name: env.UA },
    ]);
    const refusedRecord = within(audit, 'sudo-refused').find((e) => e.activity_id === 7)!;
    expect([refusedRecord.status, actorUser(refusedRecord)]).toEqual(['Failure', ua]);
    // sshd's PAM lines and records: the user is the account tried, never with sshd's uid 0; no actor user.
    for (const events of [auth, audit]) {
      for (const e of within(events, 'ssh-login-failed-password').filter((x) => x.class_uid === 3002)) {
        expect(user(e)).toEqual({ name: env.UA });
        expect(actorUser(e)).toBeUndefined();
      }
    }
  });

  it('2. names from the ENRICHED format on host processes, none in containers; (invalid user), ? and unset are nobody', () => {
    const launch = within(audit, 'exec-quoted-argument').find((e) => e.type_uid === 100701 && e.status_id === 1)!;
    expect((launch.process as { user: unknown }).user).toEqual({ uid: env.UIDA, name: env.UA });
    const inContainer = within(audit, 'docker-exec').filter((e) => e.type_uid === 100701);
    expect(inContainer.length).toBeGreaterThan(0);
    for (const e of inContainer) {
      const p = e.process as { user: unknown; container: { uid: string } };
      expect(p.container.uid).toMatch(/^[0-9a-f]{64}$/);
      expect(p.user).toEqual({ uid: env.UIDA });
      expect(JSON.stringify(e.actor)).not.toContain(env.UA!);
    }
    const invalid = within(audit, 'ssh-login-invalid-user');
    expect(invalid.map((e) => user(e)?.name ?? user(e)?.uid)).toEqual([
      'unknown',
      'unknown',
      `nosuch${env.ID}`,
      `nosuch${env.ID}`,
    ]);
    for (const e of all) {
      for (const o of (e.observables ?? []) as Array<{ value?: string }>)
        expect(['(invalid user)', '?', '4294967295', 'unknown', 'unset']).not.toContain(o.value);
      const { raw_data: _raw, unmapped: _u, ...mapped } = e;
      expect(JSON.stringify(mapped)).not.toContain('28696E76616C6964207573657229');
    }
  });

  it('3. a failed execve is the program tried failing, launched by its caller', () => {
    const tried = within(audit, 'failed-execve').find(
      (e) => (e.process as { file?: { path: string } }).file?.path === `/nonexistent/prog-${env.ID}`,
    )!;
    expect(tried).toMatchObject({ type_uid: 100701, status: 'Failure', status_detail: 'ENOENT' });
    expect((tried.process as { cmd_line?: string }).cmd_line).toBeUndefined();
    const caller = (tried.actor as { process: { cmd_line: string; name: string } }).process;
    expect(caller).toMatchObject({ name: 'sh', cmd_line: `sh -c /nonexistent/prog-${env.ID} "a b"` });
  });

  it('4. no security line is a Base Event; ausearch -i dates read; LOGIN is the logon; PAM failures without user= are authentications', () => {
    const security =
      /FAILED SU|\(to |COMMAND=|removed|from (shadow )?group|gshadow|group changed|new (user|group)|delete user|Failed|Accepted|Invalid user|authentication failure/;
    for (const [file, events] of decoded) {
      if (RECORDED_FORMATS[file]!.source !== 'auth log') continue;
      const base = events.filter((e) => e.class_uid === 0 && security.test(e.message ?? ''));
      expect(
        base.map((e) => e.message),
        file,
      ).toEqual([]);
    }
    const interpreted = decoded.get('ausearch-i.txt')!;
    expect(interpreted.filter((e) => e.class_uid === 0 && JSON.stringify(e).includes('Unparsed'))).toEqual([]);
    // The same events as the raw log (ausearch closes each event with `----`: its order is the records' order), but
    // ausearch prints a LOGIN apart from its SYSCALL (the loginuid write): that half is one more event.
    const byTime = (events: OcsfEvent[]) => events.map((e) => `${e.time} ${e.type_uid}`).sort();
    const auditType = (e: OcsfEvent) => (e.unmapped as { audit: { type: string } }).audit.type;
    const logins = new Set(audit.filter((e) => auditType(e) === 'LOGIN').map((e) => e.time));
    const loginWrites = interpreted.filter((e) => logins.has(e.time) && e.activity_name === 'write');
    expect(loginWrites.length).toBe(logins.size);
    expect(byTime(interpreted.filter((e) => !loginWrites.includes(e)))).toEqual(byTime(audit));
    const login = within(audit, 'ssh-login').find((e) => auditType(e) === 'LOGIN')!;
    expect(login).toMatchObject({ type_uid: 300201, status: 'Success', user: { uid: env.UIDA, name: env.UA } });
    expect((login.session as { uid: string }).uid).toMatch(/^\d+$/);
    const noUser = within(auth, 'ssh-login-invalid-user').filter((e) => e.class_uid === 3002 && !user(e)?.name);
    expect(noUser.map((e) => [e.activity_name, e.status, user(e)?.uid])).toEqual([
      ['Authenticate', 'Failure', 'unknown'],
      ['Authenticate', 'Failure', 'unknown'],
    ]);
  });

  it('5. status from what happened: EINPROGRESS is no failure, ECONNREFUSED a refusal, a denied /etc/shadow read Medium', () => {
    const port = Number(env.PORT);
    const inProgress = within(audit, 'connect-in-progress').find(
      (e) => e.class_uid === 4001 && (e.dst_endpoint as { port?: number } | undefined)?.port === port,
    )!;
    expect(inProgress).toMatchObject({
      activity_id: 1,
      status_id: 99,
      status: 'In Progress',
      status_detail: 'EINPROGRESS',
    });
    const refused = within(audit, 'connect-refused').find(
      (e) => e.class_uid === 4001 && (e.dst_endpoint as { port?: number } | undefined)?.port === 1,
    )!;
    expect(refused).toMatchObject({ activity_id: 5, status: 'Failure', status_detail: 'ECONNREFUSED' });
    const denied = within(audit, 'denied-read').find((e) => e.class_uid === 1001)!;
    expect(denied).toMatchObject({ file: { path: '/etc/shadow' }, status_detail: 'EACCES', severity_id: 3 });
  });

  it('7. CONFIG_CHANGE keeps its rule key; removing a rule is an audit-tampering finding', () => {
    const added = within(audit, 'audit-rules-added');
    expect(added.map((e) => [e.type_uid, e.metadata.labels])).toEqual(
      Array.from({ length: 3 }, () => [100899, [env.KEY]]),
    );
    const removed = within(audit, 'audit-rules-removed');
    expect(removed).toHaveLength(3);
    for (const e of removed) {
      expect(e).toMatchObject({ type_uid: 200401, severity_id: 3, is_alert: true, metadata: { labels: [env.KEY] } });
      expect((e.finding_info as { title: string }).title).toBe(`Audit rule removed (key ${env.KEY})`);
    }
  });

  it('9. the same ssh login joins across the auth log and audit.log', () => {
    const accepted = within(auth, 'ssh-login').find((e) => e.type_uid === 300201)!;
    const logon = within(audit, 'ssh-login').find((e) => e.type_uid === 300201)!;
    const pick = (e: OcsfEvent) => ({
      host: (e.device as { hostname: string }).hostname,
      user: user(e)?.name,
      pid: (e.actor as { process: { pid: number } }).process.pid,
      ip: (e.src_endpoint as { ip: string }).ip,
      logon: e.logon_type_id,
      service: (e.service as { name: string }).name,
    });
    expect(pick(logon)).toEqual(pick(accepted));
    expect(Math.abs(logon.time - accepted.time)).toBeLessThan(2000);
    // The session's commands carry its session id and its correlation uid.
    const ses = (logon.session as { uid: string }).uid;
    const commands = within(audit, 'ssh-login').filter((e) => e.class_uid === 1007);
    expect(commands.length).toBeGreaterThan(3);
    for (const e of commands) {
      expect(e.metadata.correlation_uid).toBe(logon.metadata.correlation_uid);
      expect(JSON.stringify(e)).toContain(`"session":{"uid":"${ses}"`);
    }
  });

  it('10. engine events: image and labels in container, unmount like mount, observables; quoted argv', () => {
    const start = within(engine, 'docker-run').find((e) => e.type_uid === 600203)!;
    const c = (start.device as { container: { image: unknown; labels: string[] } }).container;
    expect(c.image).toEqual({
      uid: 'outrider-test/busybox:2',
      name: 'outrider-test/busybox',
      tags: [{ name: 'tag', value: '2' }],
    });
    expect(c.labels).toEqual(expect.arrayContaining(['team=analyst', 'com.example.tier=web']));
    const mount = engine.find((e) => e.type_uid === 100112)!;
    const unmount = engine.find((e) => e.type_uid === 100113)!;
    expect((mount.file as { uid: string }).uid).toBe(`oav-${env.ID}`);
    expect((unmount.file as { uid: string }).uid).toBe(`oav-${env.ID}`);
    for (const e of engine.filter((x) => x.unmapped?.docker && (x.device as { container?: unknown }).container))
      expect((e.observables as Array<{ name: string }>).map((o) => o.name)).toContain('device.container.uid');
    const quoted = within(audit, 'exec-quoted-argument').find(
      (e) => e.type_uid === 100701 && e.status_id === 1 && (e.process as { name?: string }).name === 'sh',
    )!;
    expect((quoted.process as { cmd_line: string }).cmd_line).toBe(`sh -c 'echo '\\''a | b'\\'' | cat'`);
  });

  it('16.6: every syslog form rsyslog and journald write reads the same as RSYSLOG_FileFormat', () => {
    expect(auth.filter((e) => e.class_uid !== 0).length).toBeGreaterThan(40);
    expect(syslogFormsDiffer(decoded, sessions.marks)).toEqual([]);
    // Messages that reached rsyslog as RFC 5424 (structured data, a BOM; logger's form): in all three templates,
    // including RSYSLOG_FileFormat's `host app[pid] msg` without the tag's colon.
    for (const file of ['auth.file-format.log', 'auth.traditional.log', 'auth.protocol23.log']) {
      // The last lines of the run (their times are the senders', in whole seconds).
      const events = decoded.get(file)!.slice(-6);
      expect(
        events.map((e) => [e.type_uid, e.status_id, user(e)?.name, e.message?.charCodeAt(0) === 0xfeff]),
        file,
      ).toEqual([
        [300201, 2, `nosuch${env.ID}`, false],
        [300201, 1, `or${env.ID}a`, false],
        [300207, 2, 'root', false],
        [300101, 1, `or${env.ID}c`, false],
        [300106, 1, `or${env.ID}c`, false],
        [300299, 2, `nosuch${env.ID}`, false],
      ]);
    }
  });
});

describe('forms and records the recorded run does not show', () => {
  it('reads ausearch -i dates in the other locales’ forms (four-digit year, DD.MM.YYYY, YYYY-MM-DD)', () => {
    const record = (date: string) =>
      `type=CONFIG_CHANGE msg=audit(${date} 01:21:15.381:2776) : auid=unset ses=unset op=add_rule key=k list=exit res=yes`;
    const tz = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      for (const date of ['12/05/26', '12/05/2026', '05.12.2026', '2026-12-05']) {
        const { events } = decodeText('auditd', record(date), 'ausearch.txt');
        expect(events[0]!.time, date).toBe(Date.UTC(2026, 11, 5, 1, 21, 15, 381));
      }
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('a CONFIG_CHANGE disabling auditing is a High finding', () => {
    const { events } = decodeText(
      'auditd',
      'type=CONFIG_CHANGE msg=audit(1796431337.533:1107): op=set audit_enabled=0 old=1 auid=4294967295 ses=4294967295 res=1\x1dAUID="unset"',
      'audit.log',
    );
    expect(events[0]).toMatchObject({
      type_uid: 200401,
      severity_id: 4,
      finding_info: { title: 'Auditing disabled', analytic: { name: 'audit tampering' } },
    });
  });

  it('reads a journal export binary field whose length bytes are not ASCII, and -o json byte-array messages', () => {
    // As the line splitter hands it over: bytes decoded as UTF-8, 0xC8 (a length of 200) turned into U+FFFD.
    const value = `<86>Dec  5 01:29:13 userdel[21143]: ${'x'.repeat(162)}\n`;
    const length = Buffer.alloc(8);
    length.writeUInt32LE(Buffer.byteLength(value));
    const bytes = Buffer.concat([
      Buffer.from('__CURSOR=s=1\n__REALTIME_TIMESTAMP=1796434153744000\nSYSLOG_IDENTIFIER=userdel\n_PID=21143\n'),
      Buffer.from("MESSAGE=delete user 'u1'\nSYSLOG_RAW\n"),
      length,
      Buffer.from(value),
      Buffer.from('\n_HOSTNAME=vm\n\n'),
    ]);
    expect(Buffer.byteLength(value)).toBeGreaterThan(127);
    const json = JSON.stringify({
      __REALTIME_TIMESTAMP: '1796434153744000',
      SYSLOG_IDENTIFIER: 'sshd',
      _PID: '1',
      MESSAGE: [...Buffer.from('Failed password for root from 192.0.2.1 port 22 ssh2')],
    });
    const { events } = decodeText('syslog-auth', `${bytes.toString('utf8')}${json}\n`, 'journal', { now: NOW });
    expect(events.map((e) => [e.type_uid, (e.user as { name?: string } | undefined)?.name])).toEqual([
      [300106, 'u1'],
      [300201, 'root'],
    ]);
    expect((events[0]!.device as { hostname: string }).hostname).toBe('vm');
  });

  it('takes a docker json-file’s container from its name wherever the file lies', () => {
    const id = 'c'.repeat(64);
    for (const path of [`/var/lib/docker/containers/${id}/${id}-json.log`, `/evidence/case-7/${id}-json.log.1`])
      expect(containerFromPath(path)?.id, path).toBe(id);
  });

  it('quotes what a shell would split or interpret, and only that', () => {
    expect(shellQuote(['sh', '-c', 'a | b', "it's", '', '--k=v', '/usr/bin/x', '$HOME'])).toBe(
      `sh -c 'a | b' 'it'\\''s' '' --k=v /usr/bin/x '$HOME'`,
    );
  });
});

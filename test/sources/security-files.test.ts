// The `file` source with the security formats on real files (groups held across writes, rotation), on the live
// audit.log of a real auditd with our own rules, and on the log of a real sshd on 127.0.0.1; and scripted real
// sessions (test/support/real-sessions.sh) against docs/ocsf-mapping.md's table of actions.
import { execFile, spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedEvent } from '../../src/formats/decoder.ts';
import { findFormat } from '../../src/formats/index.ts';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { checkActions, readActionTable } from '../support/action-table.ts';
import { CORPORA, recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { decodeRealSessions, runRealSessions, syslogFormsDiffer } from '../support/real-sessions.ts';
import { IN_CI, requireComponents } from '../support/requirements.ts';

const run = promisify(execFile);
const running: TestOutrider[] = [];

afterEach(async () => {
  for (const o of running.splice(0)) await o.stop();
});

async function startFileSource(format: string, include: string[], out: string, extra: Record<string, unknown> = {}) {
  const o = await startTestOutrider({
    sources: {
      security: {
        type: 'file',
        format,
        include,
        poll_interval: '50ms',
        glob_interval: '100ms',
        rotate_wait: '300ms',
        checkpoint_interval: '50ms',
        ...extra,
      },
    },
    sinks: { out: { type: 'file', inputs: ['security'], path: out, batch: { timeout: '20ms' } } },
  });
  running.push(o);
  return o;
}

describe('file source', () => {
  it('tails auth.log lines through rotation, one event per line', async () => {
    const dir = tempDir();
    const log = join(dir, 'auth.log');
    const out = join(dir, 'out.ndjson');
    const lines = readFileSync(join(CORPORA, 'sshd-auth', 'elastic-beats', 'auth-test.log'), 'utf8')
      .split('\n')
      .filter(Boolean);
    writeFileSync(log, `${lines.slice(0, 5).join('\n')}\n`);
    await startFileSource('syslog-auth', [join(dir, '*.log')], out);
    expect(await waitFor(() => readNdjson(out).length === 5, 15_000)).toBe(true);
    renameSync(log, join(dir, 'auth.log.1'));
    writeFileSync(log, `${lines.slice(5).join('\n')}\n`);
    expect(await waitFor(() => readNdjson(out).length === lines.length, 15_000)).toBe(true);
    const events = readNdjson<OcsfEvent>(out);
    expect(events.map((e) => e.raw_data).sort()).toEqual([...lines].sort());
    expect(events.filter((e) => e.class_uid === 3002).length).toBeGreaterThan(5);
    const result = validateOcsf(recordOutput('sources/file-syslog-auth', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('holds an audit event whose records arrive in two writes and emits it once, whole', async () => {
    const dir = tempDir();
    const log = join(dir, 'audit.log');
    const out = join(dir, 'out.ndjson');
    const group = [
      'type=SYSCALL msg=audit(1700000000.100:77): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 egid=0 ses=1 tty=pts0 comm="echo" exe="/bin/echo" key="k"',
      'type=EXECVE msg=audit(1700000000.100:77): argc=2 a0="echo" a1=68656C6C6F20776F726C64',
      'type=CWD msg=audit(1700000000.100:77): cwd="/root"',
      'type=EOE msg=audit(1700000000.100:77):',
    ];
    writeFileSync(log, `${group.slice(0, 2).join('\n')}\n`);
    await startFileSource('auditd', [log], out, { auditd: { group_timeout: '30s', attribute_containers: false } });
    await new Promise((r) => setTimeout(r, 500));
    expect(readNdjson(out)).toHaveLength(0);
    appendFileSync(log, `${group.slice(2).join('\n')}\n`);
    expect(await waitFor(() => readNdjson(out).length === 1, 15_000)).toBe(true);
    const [e] = readNdjson<OcsfEvent>(out);
    expect(e!.type_uid).toBe(100701);
    // An argument with a space reads as one argument.
    expect(e!.process).toMatchObject({ cmd_line: "echo 'hello world'", working_directory: '/root' });
    expect(e!.raw_data).toBe(group.join('\n'));
    const result = validateOcsf(recordOutput('sources/file-auditd-held', [e]));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

const auditdOk = await requireComponents('auditd');

describe.skipIf(!auditdOk)('live auditd', () => {
  const key = `outrider-test-${process.pid}`;
  const watchDir = `/tmp/outrider-watch-${process.pid}`;
  // Only our own children are audited, so the rule adds no load from other work on the machine.
  const execRule = ['always,exit', '-F', 'arch=b64', '-S', 'execve', '-F', `ppid=${process.pid}`, '-k', key];
  const watchRule = [watchDir, '-p', 'wa', '-k', key];

  beforeAll(async () => {
    mkdirSync(watchDir, { recursive: true });
    await run('auditctl', ['-a', ...execRule]);
    await run('auditctl', ['-w', ...watchRule]);
  });

  afterAll(async () => {
    // Exactly the rules this file added, whatever happened in the tests.
    await run('auditctl', ['-d', ...execRule]).catch(() => undefined);
    await run('auditctl', ['-W', ...watchRule]).catch(() => undefined);
    rmSync(watchDir, { recursive: true, force: true });
  });

  it('normalises the real audit.log records of our exec and of our watched file', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    await startFileSource('auditd', ['/var/log/audit/audit.log'], out, {
      read_from: 'end',
      auditd: { group_timeout: '300ms' },
    });
    await new Promise((r) => setTimeout(r, 500));
    await run('/bin/echo', ['outrider live', 'arg with "quotes"']);
    writeFileSync(join(watchDir, 'secret file.txt'), 'x');
    const ours = () => readNdjson<OcsfEvent>(out).filter((e) => e.metadata.labels?.includes(key));
    const seen = await waitFor(
      () => ours().some((e) => e.class_uid === 1007) && ours().some((e) => e.class_uid === 1001),
      20_000,
    );
    const events = ours();
    expect(seen, JSON.stringify(events.map((e) => e.type_uid))).toBe(true);
    const launch = events.find((e) => e.class_uid === 1007)!;
    expect(launch).toMatchObject({ type_uid: 100701, status_id: 1, launch_type_id: 3 });
    expect(launch.process).toMatchObject({
      // Arguments holding spaces are single-quoted: one argument each, as the process got them.
      cmd_line: `/bin/echo 'outrider live' 'arg with "quotes"'`,
      file: { path: '/usr/bin/echo' },
      parent_process: { pid: process.pid },
    });
    const file = events.find((e) => e.class_uid === 1001)!;
    expect((file.file as { path: string }).path).toBe(join(watchDir, 'secret file.txt'));
    expect(file.actor).toMatchObject({ process: { pid: process.pid } });
    const result = validateOcsf(recordOutput('sources/live-auditd', events));
    if (result) expect(result.failed, result.output).toBe(0);
  }, 40_000);
});

const sshdOk = await requireComponents('sshd');

describe.skipIf(!sshdOk)('live sshd', () => {
  it('normalises a real sshd log: accepted publickey, failed publickey, invalid user', async () => {
    const dir = tempDir('outrider-sshd-');
    chmodSync(dir, 0o700);
    for (const k of ['hostkey', 'userkey', 'wrongkey'])
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'userkey.pub')));
    const port = 20000 + (process.pid % 20000);
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'hostkey')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        'UsePAM no',
        'LogLevel VERBOSE',
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true });
    const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    sshd.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const killer = setTimeout(() => sshd.kill(), 30_000);
    try {
      expect(await waitFor(() => stderr.includes('Server listening'), 10_000)).toBe(true);
      const ssh = (user: string, keyFile: string) =>
        run(
          'ssh',
          [
            '-p',
            String(port),
            '-i',
            join(dir, keyFile),
            '-o',
            'IdentitiesOnly=yes',
            '-o',
            'BatchMode=yes',
            '-o',
            'StrictHostKeyChecking=no',
            '-o',
            'UserKnownHostsFile=/dev/null',
            '-o',
            'ConnectTimeout=5',
            `${user}@127.0.0.1`,
            'true',
          ],
          { timeout: 15_000 },
        ).then(
          () => 0,
          () => 255,
        );
      expect(await ssh('root', 'userkey')).toBe(0);
      expect(await ssh('root', 'wrongkey')).toBe(255);
      expect(await ssh('nosuchuser', 'wrongkey')).toBe(255);
      expect(await waitFor(() => stderr.includes('Invalid user nosuchuser'), 10_000)).toBe(true);
    } finally {
      clearTimeout(killer);
      sshd.kill();
      rmSync(dir, { recursive: true, force: true });
    }
    const decoder = findFormat('syslog-auth')!.createDecoder({
      source: 'sshd',
      hostname: 'live-host',
      onProblem: () => {},
    });
    const out: DecodedEvent[] = [];
    let offset = 0;
    for (const line of stderr.split('\n').filter(Boolean)) {
      decoder.push(line, { start: offset, flags: 0 }, out);
      offset += line.length + 1;
    }
    const events = out.map((d) => d.event);
    const accepted = events.find((e) => e.type_uid === 300201 && e.status_id === 1)!;
    expect(accepted).toMatchObject({
      user: { name: 'root' },
      auth_protocol: 'publickey',
      src_endpoint: { ip: '127.0.0.1' },
      metadata: { product: { name: 'OpenSSH' } },
    });
    const failures = events.filter((e) => e.type_uid === 300201 && e.status_id === 2);
    expect(failures.map((e) => (e.user as { name: string }).name)).toEqual(expect.arrayContaining(['root']));
    // "Invalid user" is a step of the failed logon, not a second one.
    const invalid = events.find((e) => e.activity_name === 'Invalid User')!;
    expect(invalid).toMatchObject({ type_uid: 300299, status_id: 2, user: { name: 'nosuchuser' } });
    expect(events.some((e) => e.type_uid === 300202 && (e.user as { name: string }).name === 'root')).toBe(true);
    const result = validateOcsf(recordOutput('sources/live-sshd', events));
    if (result) expect(result.failed, result.output).toBe(0);
  }, 60_000);
});

const sessionsOk = (await requireComponents('auditd', 'sshd', 'rsyslog', 'docker')) && (await requireSessionTools());

/** sudo, systemd-journald and unshare, which the scripted sessions also need (missing: fail under CI, else skip). */
async function requireSessionTools(): Promise<boolean> {
  const missing = ['/usr/bin/sudo', '/lib/systemd/systemd-journald', '/usr/bin/unshare', '/usr/bin/script'].filter(
    (p) => !existsSync(p),
  );
  if (missing.length === 0) return true;
  const message = `the scripted real sessions need ${missing.join(', ')}`;
  if (IN_CI) throw new Error(`CI=true: ${message}`);
  process.stderr.write(`\n!!! SKIPPING: ${message}\n\n`);
  return false;
}

describe.skipIf(!sessionsOk)(
  'live real sessions: sshd, su, sudo, shadow-utils, docker exec under auditd, rsyslog, journald',
  () => {
    it('gives every action the events docs/ocsf-mapping.md lists, from the live daemons, as valid OCSF', async () => {
      const dir = tempDir('outrider-sessions-');
      try {
        // Bounded: the script's own daemons, users and audit rules are removed by its exit trap, also on timeout.
        const sessions = await runRealSessions(dir, { docker: true, timeoutMs: 240_000 });
        const decoded = decodeRealSessions(sessions, hostname());
        const rows = readActionTable();
        const problems = [
          ...checkActions(rows, sessions.marks, 'auth log', decoded.get('auth.file-format.log')!),
          ...checkActions(rows, sessions.marks, 'auditd', decoded.get('audit.log')!),
          ...checkActions(rows, sessions.marks, 'docker events', decoded.get('docker-events.ndjson')!),
        ];
        expect(problems).toEqual([]);
        const all = [...decoded.values()].flat();
        // Every syslog form the live rsyslog and journald wrote reads the same.
        expect(syslogFormsDiffer(decoded, sessions.marks)).toEqual([]);
        const result = validateOcsf(recordOutput('sources/live-real-sessions', all));
        if (result) expect(result.failed, result.output).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 300_000);
  },
);

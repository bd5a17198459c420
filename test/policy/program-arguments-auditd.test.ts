// Secrets given to programs as their arguments (issue 16.7), from real processes under the real auditd: our own
// rule (key with our pid, a uid nobody else uses), removed afterwards. Each program of the table is a copy of
// /bin/true named like it, run with a password the way people pass one; the normalised events (cmd_line, raw_data
// with the EXECVE and PROCTITLE records, hex forms included) must hold none of them.
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAuditRule, auditRule, deleteAuditRule, liveAuditSource } from '../support/audit.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary OCSF JSON.
type Json = Record<string, any>;

const ok = await requireComponents('auditd');
const KEY = `outrider-argv-${process.pid}`;
const UID = 4251;
const RULE = auditRule(KEY, String(UID), ['execve']);

const secret = (n: number) => `Zq${n}x${process.pid}w`;
/** Program, then its arguments; SECRET(n) stands for the n-th secret. */
const RUNS: Array<[string, string[]]> = [
  ['sshpass', ['-p', secret(1), 'ssh', '-p', '22', 'host']],
  // With spaces: auditd hex-encodes the argument.
  ['sshpass', ['-p', `two words ${secret(2)}`, 'ssh', 'host']],
  ['mysql', ['-u', 'root', `-p${secret(3)}`, 'appdb']],
  ['redis-cli', ['-a', secret(4), 'ping']],
  ['smbclient', ['//srv/share', '-U', `bob%${secret(5)}`]],
  ['htpasswd', ['-b', '/tmp/htpasswd', 'bob', secret(6)]],
  ['openssl', ['enc', '-aes256', '-passin', `pass:${secret(7)}`]],
  ['ldapsearch', ['-x', '-D', 'cn=admin', '-w', secret(8), '-b', 'dc=x']],
  ['curl', ['-s', '-u', `admin:${secret(9)}`, 'https://x.example']],
  ['docker', ['login', '-u', 'bob', '-p', secret(10), 'registry.example']],
  ['kubectl', ['--token', secret(11), 'get', 'pods']],
  ['vault', ['login', secret(12)]],
  ['aws', ['configure', 'set', 'aws_secret_access_key', secret(13)]],
  ['ipmitool', ['-I', 'lanplus', '-U', 'admin', '-P', secret(14), 'chassis', 'status']],
  ['mongosh', ['-u', 'admin', '-p', secret(15)]],
  ['wget', ['--password', secret(16), 'https://x.example']],
];
const hex = (s: string) => Buffer.from(s).toString('hex').toUpperCase();
const FORBIDDEN = RUNS.flatMap((_, i) => [secret(i + 1), hex(secret(i + 1))]);

function runAs(file: string, args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { uid: UID, gid: UID, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', resolve);
  });
}

describe.skipIf(!ok)('secrets in program arguments, from processes run under auditd', () => {
  let outrider: TestOutrider | undefined;
  let out = '';
  let bin = '';

  beforeAll(async () => {
    // A directory the test uid can enter, with /bin/true named like each program.
    bin = mkdtempSync(join(tmpdir(), 'outrider-argv-'));
    chmodSync(bin, 0o755);
    for (const [program] of RUNS) copyFileSync('/bin/true', join(bin, program));
    for (const [program] of RUNS) chmodSync(join(bin, program), 0o755);
    await addAuditRule(RULE);
    const dir = tempDir();
    out = join(dir, 'out.ndjson');
    outrider = await startTestOutrider(
      {
        sources: { audit: liveAuditSource },
        sinks: { out: { type: 'file', inputs: ['audit'], path: out, batch: { timeout: '20ms' }, fsync: false } },
      },
      join(dir, 'data'),
    );
  });

  afterAll(async () => {
    await deleteAuditRule(RULE);
    await outrider?.stop();
    if (bin) rmSync(bin, { recursive: true, force: true });
    const events = readNdjson<Json>(out);
    if (events.length > 0) {
      const v = validateOcsf(recordOutput('policy/program-arguments-auditd', events));
      if (v) expect(v.failed, v.output).toBe(0);
    }
  });

  it('masks every secret in cmd_line, raw_data (EXECVE, PROCTITLE, hex) and everywhere else', async () => {
    for (const [program, args] of RUNS) expect(await runAs(join(bin, program), args)).toBe(0);
    const launches = () =>
      readNdjson<Json>(out).filter((e) => e.class_uid === 1007 && String(e.process?.file?.path).startsWith(bin));
    expect(await waitFor(() => launches().length >= RUNS.length, 20_000)).toBe(true);
    const text = readFileSync(out, 'utf8');
    expect(FORBIDDEN.filter((s) => text.includes(s))).toEqual([]);
    expect(text).not.toContain('words');
    for (const [program] of RUNS) {
      const events = launches().filter((e) => e.process.file.path === join(bin, program));
      expect(events.length, program).toBeGreaterThan(0);
      for (const e of events) {
        expect(e.process.cmd_line, program).toContain('***');
        expect(e.raw_data, program).toContain('***');
        expect(e.metadata.labels, program).toContain('redacted');
      }
    }
    // What the event still says: which program, which flag, that a secret was there.
    const ssh = launches().find((e) => e.process.cmd_line.includes(' ssh -p 22 host'));
    expect(ssh?.process.cmd_line).toBe(`${join(bin, 'sshpass')} -p *** ssh -p 22 host`);
    const twoWords = launches().find((e) => e.process.cmd_line.includes(' ssh host'));
    expect(twoWords?.process.cmd_line).toBe(`${join(bin, 'sshpass')} -p '***' ssh host`);
  });
});

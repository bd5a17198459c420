// Real sessions recorded by real daemons (test/support/real-sessions.sh): logins, su, sudo, account changes, denied
// reads, refused connections, a docker exec. Used live (bounded, cleaned up) by test/sources/security-files.test.ts,
// and recorded once into test/corpus/real-sessions/ for the golden tests:
//   node --experimental-transform-types test/support/real-sessions.ts --record test/corpus/real-sessions
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerRef } from '../../src/core/envelope.ts';
import type { DecodedEvent } from '../../src/formats/decoder.ts';
import { findFormat } from '../../src/formats/index.ts';
import type { OcsfEvent } from '../../src/ocsf/event.ts';

const SCRIPT = join(import.meta.dirname, 'real-sessions.sh');
const run = promisify(execFile);

export interface Mark {
  name: string;
  /** Wall-clock span of the scenario, epoch ms. */
  start: number;
  end: number;
}

export interface RealSessions {
  dir: string;
  /** IDs of the run: UA/UIDA (the non-root test user), UB/UIDB, G/GIDG (group), KEY (audit rule key), PORT (sshd). */
  env: Record<string, string>;
  marks: Mark[];
}

/** Runs the sessions into `dir` (root only); rejects after `timeoutMs`, the script killed (its trap cleans up). */
export async function runRealSessions(
  dir: string,
  options: { docker: boolean; timeoutMs: number },
): Promise<RealSessions> {
  mkdirSync(dir, { recursive: true });
  try {
    await run('bash', [SCRIPT, dir], {
      env: { ...process.env, WITH_DOCKER: options.docker ? '1' : '0', ID: String(process.pid) },
      timeout: options.timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    throw new Error(`real-sessions.sh failed: ${(err as Error).message}`);
  }
  const sessions = loadRealSessions(dir);
  const events = join(dir, 'docker-events.ndjson');
  if (options.docker && (!existsSync(events) || readFileSync(events, 'utf8') === ''))
    throw new Error(`the docker session recorded no engine events: ${readIfThere(join(dir, 'docker.err'))}`);
  const audit = join(dir, 'audit.log');
  writeFileSync(audit, ourAuditRecords(readFileSync(join(dir, 'audit.all.log'), 'utf8'), sessions.env));
  // The same records as `ausearch -i` prints them (C locale: two-digit years; UTC).
  const { stdout } = await run('ausearch', ['-i', '-if', audit], {
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
    maxBuffer: 64 * 1024 * 1024,
  });
  writeFileSync(join(dir, 'ausearch-i.txt'), stdout);
  return sessions;
}

function readIfThere(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '(no error output)';
}

export function loadRealSessions(dir: string): RealSessions {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(dir, 'session.env'), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const marks = readFileSync(join(dir, 'marks.tsv'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, start, end] = l.split('\t');
      return { name: name!, start: Math.floor(Number(start) * 1000), end: Math.ceil(Number(end) * 1000) };
    });
  return { dir, env, marks };
}

const STAMP = /msg=audit\(([^)]*)\)/;
const PID = / pid=(\d+)/;

/**
 * The records of the run among everything auditd logged meanwhile (other processes share the host): events with the
 * run's rule key or naming its users, uids or group, plus the other user-space records of the same processes (sshd's
 * "(invalid user)" records name no account). Events are kept whole, in their original order.
 */
export function ourAuditRecords(text: string, env: Record<string, string>): string {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const names = [env.UA!, env.UB!, env.G!, `${env.G}x`, `nosuch${env.ID}`];
  const hexNames = names.map((n) => Buffer.from(n).toString('hex').toUpperCase());
  const ids = [env.UIDA!, env.UIDB!, env.GIDG!];
  const mentions = (l: string) =>
    l.includes(`key="${env.KEY}"`) ||
    names.some((n) => l.includes(`acct="${n}"`) || l.includes(` ${n} `) || l.includes(`"${n}"`)) ||
    hexNames.some((h) => l.includes(`acct=${h}`)) ||
    ids.some((id) => new RegExp(`[ ']((?:a|old-a)?uid|id)=${id}\\b`).test(l));
  const serials = new Set<string>();
  const pids = new Set<string>();
  for (const l of lines) {
    if (!mentions(l)) continue;
    const stamp = STAMP.exec(l)?.[1];
    if (stamp) serials.add(stamp);
    if (!/^type=(SYSCALL|EXECVE|PATH|CWD|PROCTITLE|SOCKADDR)/.test(l)) {
      const pid = PID.exec(l)?.[1];
      if (pid) pids.add(pid);
    }
  }
  for (const l of lines) {
    if (/^type=(USER_|CRED_|LOGIN)/.test(l) && pids.has(PID.exec(l)?.[1] ?? '')) serials.add(STAMP.exec(l)![1]!);
  }
  return `${lines.filter((l) => serials.has(STAMP.exec(l)?.[1] ?? '')).join('\n')}\n`;
}

/** Files a recorded run keeps (test/corpus/real-sessions/): the outputs, not the scratch directory. */
export const RECORDED_FILES = [
  'session.env',
  'marks.tsv',
  'audit.log',
  'ausearch-i.txt',
  'auth.traditional.log',
  'auth.file-format.log',
  'auth.protocol23.log',
  'journal.export',
  'journal.ndjson',
  'journal.short',
  'journal.short-iso',
  'journal.short-iso-precise',
  'journal.short-precise',
  'journal.short-full',
  'journal.short-unix',
  'docker-events.ndjson',
  'docker-top.txt',
];

/** The source of each recorded file, and the format that reads it. */
export const RECORDED_FORMATS: Record<string, { source: 'auth log' | 'auditd' | 'docker events'; format: string }> = {
  'audit.log': { source: 'auditd', format: 'auditd' },
  'ausearch-i.txt': { source: 'auditd', format: 'auditd' },
  'auth.traditional.log': { source: 'auth log', format: 'syslog-auth' },
  'auth.file-format.log': { source: 'auth log', format: 'syslog-auth' },
  'auth.protocol23.log': { source: 'auth log', format: 'syslog-auth' },
  'journal.export': { source: 'auth log', format: 'syslog-auth' },
  'journal.ndjson': { source: 'auth log', format: 'syslog-auth' },
  'journal.short': { source: 'auth log', format: 'syslog-auth' },
  'journal.short-iso': { source: 'auth log', format: 'syslog-auth' },
  'journal.short-iso-precise': { source: 'auth log', format: 'syslog-auth' },
  'journal.short-precise': { source: 'auth log', format: 'syslog-auth' },
  'journal.short-full': { source: 'auth log', format: 'syslog-auth' },
  'journal.short-unix': { source: 'auth log', format: 'syslog-auth' },
  'docker-events.ndjson': { source: 'docker events', format: 'docker-events' },
};

/**
 * Every recorded file of a run decoded as Outrider reads it: the host name of the recording (audit records carry
 * none), RFC 3164 years placed by the session's time, `ausearch -i` read in UTC (as recorded), and the processes of
 * the `docker exec` (docker top's pids and their children) attributed to the container, as the live pid attribution
 * would while they run.
 */
export function decodeRealSessions(sessions: RealSessions, hostname = 'vm'): Map<string, OcsfEvent[]> {
  const out = new Map<string, OcsfEvent[]>();
  const now = Number(sessions.env.SESSION_START) * 1000 + 3_600_000;
  const container = recordedContainer(sessions.dir);
  const tz = process.env.TZ;
  process.env.TZ = 'UTC';
  try {
    for (const [file, { format }] of Object.entries(RECORDED_FORMATS)) {
      const path = join(sessions.dir, file);
      if (!existsSync(path)) continue;
      const options =
        format === 'syslog-auth'
          ? { now }
          : format === 'auditd' && container
            ? { attributePid: (pid: number) => (container.pids.has(pid) ? container.ref : undefined) }
            : undefined;
      const decoder = findFormat(format)!.createDecoder(
        { source: 'real-sessions', hostname, path: `real-sessions/${file}`, onProblem: () => {} },
        options,
      );
      const decoded: DecodedEvent[] = [];
      let offset = 0;
      const lines = readFileSync(path, 'utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      // Empty lines too: they end `journalctl -o export` entries.
      for (const line of lines) {
        decoder.push(line, { start: offset, flags: 0 }, decoded);
        offset += Buffer.byteLength(line) + 1;
      }
      decoder.flush(decoded);
      out.set(
        file,
        decoded.map((d) => d.event),
      );
    }
  } finally {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  }
  return out;
}

/** The container of the recorded `docker exec`: its id and name (engine events) and the host pids that ran in it. */
function recordedContainer(dir: string): { ref: ContainerRef; pids: Set<number> } | undefined {
  const eventsFile = join(dir, 'docker-events.ndjson');
  if (!existsSync(eventsFile)) return undefined;
  const start = readFileSync(eventsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { Type?: string; Actor?: { ID: string; Attributes: Record<string, string> } })
    .find((e) => e.Type === 'container');
  if (!start?.Actor) return undefined;
  const pids = new Set(
    readFileSync(join(dir, 'docker-top.txt'), 'utf8')
      .split('\n')
      .map((l) => Number.parseInt(l, 10))
      .filter((n) => Number.isInteger(n)),
  );
  // Their children (by ppid), until no new one: cat and sleep of `sh -c 'echo a | cat; sleep 1'`.
  const audit = readFileSync(join(dir, 'audit.log'), 'utf8');
  for (let grown = true; grown; ) {
    grown = false;
    for (const m of audit.matchAll(/ ppid=(\d+) pid=(\d+)/g)) {
      if (pids.has(Number(m[1])) && !pids.has(Number(m[2]))) {
        pids.add(Number(m[2]));
        grown = true;
      }
    }
  }
  const attrs = start.Actor.Attributes;
  return { ref: { id: start.Actor.ID, name: attrs.name ?? '', runtime: 'docker' }, pids };
}

/**
 * The syslog forms that do not say what RSYSLOG_FileFormat says, line by line (class, activity, status, user, actor,
 * message, time): empty when every form rsyslog and journald wrote reads the same. The journal forms hold what journald had
 * when it was exported (not sshd's last line nor the RFC 5424 senders, which wrote to rsyslog only), and journald keeps
 * no trailing blank in MESSAGE.
 */
export function syslogFormsDiffer(decoded: Map<string, OcsfEvent[]>, marks: readonly Mark[]): string[] {
  const facts = (events: OcsfEvent[]) =>
    events.map((e) =>
      JSON.stringify([
        e.type_uid,
        e.status_id,
        (e.user as { name?: string } | undefined)?.name,
        (e.actor as { user?: { name?: string } } | undefined)?.user?.name,
        e.message?.trimEnd(),
      ]),
    );
  const fileFormat = decoded.get('auth.file-format.log') ?? [];
  const exported = marks.find((m) => m.name === 'journal-export')?.start ?? Number.POSITIVE_INFINITY;
  const problems: string[] = [];
  for (const [file, events] of decoded) {
    if (RECORDED_FORMATS[file]?.source !== 'auth log') continue;
    const reference = facts(file.startsWith('journal.') ? fileFormat.filter((e) => e.time < exported) : fileFormat);
    const got = facts(events);
    if (got.length !== reference.length) problems.push(`${file}: ${got.length} events, ${reference.length} expected`);
    const at = got.findIndex((f, i) => f !== reference[i]);
    if (at >= 0) problems.push(`${file} line ${at + 1}: ${got[at]} where RSYSLOG_FileFormat gives ${reference[at]}`);
    // Times agree within the form's precision (RFC 3164 and `short` have whole seconds).
    const late = events.findIndex((e, i) => fileFormat[i] && Math.abs(e.time - fileFormat[i]!.time) >= 1000);
    if (late >= 0)
      problems.push(`${file} line ${late + 1}: time ${events[late]!.time}, ${fileFormat[late]!.time} expected`);
  }
  return problems;
}

if (import.meta.main && process.argv[2] === '--record') {
  const target = process.argv[3] ?? 'test/corpus/real-sessions';
  const scratch = join(target, '.run');
  rmSync(scratch, { recursive: true, force: true });
  const sessions = await runRealSessions(scratch, { docker: true, timeoutMs: 240_000 });
  for (const f of RECORDED_FILES) {
    const from = join(sessions.dir, f);
    if (existsSync(from)) writeFileSync(join(target, f), readFileSync(from));
  }
  rmSync(scratch, { recursive: true, force: true });
}

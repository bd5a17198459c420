// The container image as operators run it, on the real Docker engine: built by `bash scripts/dev.sh image` (with no
// image registry), started with README's commands — the node agent and the sidecar — and checked end to end: every
// line of a short-lived container written once, enriched, with the host's name; Outrider's own logs not shipped;
// healthy; `docker stop` drains and exits 0; bad input exits within seconds with one line.
// The README commands run as written but for the names: container, volume and image names are made unique, as
// other work may share this engine.
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, ensureTestImage } from '../support/docker.ts';
import { REPO_ROOT, recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const exec = promisify(execFile);
const ok = await requireComponents('docker', 'root');

const RUN = `outrider-e2e-${process.pid}`;
const TAG = `outrider:e2e-${process.pid}`;
const ENTRY = '/opt/outrider/dist/src/cli/entry.js';
const containers: string[] = [];
const volumes: string[] = [];

interface Ev {
  message?: string;
  class_uid: number;
  device?: { hostname?: string; container?: { uid?: string; name?: string; image?: { name?: string } } };
  metadata?: { log_provider?: string };
  unmapped?: Record<string, unknown>;
}

/** README's `docker run` command (the one in a ```sh block that contains `needle`), as arguments, with names made
 * unique: `renames` maps each name in it to the name this run uses. */
function readmeCommand(needle: string, renames: Record<string, string>): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes(needle));
  if (!block) throw new Error(`README.md has no sh block with ${needle}`);
  const args = block.replace(/\\\n/g, ' ').trim().split(/\s+/);
  expect(args.slice(0, 2)).toEqual(['docker', 'run']);
  return args.slice(2).map((a) => {
    if (renames[a] !== undefined) return renames[a];
    const volume = Object.keys(renames).find((from) => a.startsWith(`${from}:`));
    return volume === undefined ? a : `${renames[volume]}${a.slice(volume.length)}`;
  });
}

async function volumeFile(volume: string, path: string): Promise<string> {
  return join(await docker('volume', 'inspect', '-f', '{{.Mountpoint}}', volume), path);
}

/** `docker run --rm …` to its end: exit code, stderr, and how long it took. */
async function runToExit(...args: string[]): Promise<{ code: number; stderr: string; ms: number }> {
  const started = Date.now();
  try {
    await exec('docker', ['run', '--rm', ...args], { timeout: 60_000 });
    return { code: 0, stderr: '', ms: Date.now() - started };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '', ms: Date.now() - started };
  }
}

const logsOf = async (name: string) => (await exec('docker', ['logs', name], { maxBuffer: 64 << 20 })).stderr;
const exitCode = async (name: string) => Number(await docker('inspect', '-f', '{{.State.ExitCode}}', name));

describe.skipIf(!ok)('the container image', () => {
  let testImage: string;

  beforeAll(async () => {
    testImage = await ensureTestImage();
    const started = Date.now();
    // README's build command, with this run's tag. Cold (no Debian base cached yet) it takes minutes.
    await exec('bash', [join(REPO_ROOT, 'scripts', 'dev.sh'), 'image', TAG], {
      cwd: REPO_ROOT,
      timeout: 30 * 60_000,
      maxBuffer: 256 << 20,
    });
    const size = Number(await docker('image', 'inspect', '-f', '{{.Size}}', TAG));
    process.stderr.write(
      `[image e2e] ${TAG}: ${Math.round(size / 1e6)} MB, built in ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
  }, 31 * 60_000);

  afterAll(async () => {
    for (const c of containers) await docker('rm', '-f', '-v', c).catch(() => undefined);
    for (const v of volumes) await docker('volume', 'rm', '-f', v).catch(() => undefined);
    // --no-prune: the build's cached layers stay for the next run.
    await docker('rmi', '--no-prune', TAG).catch(() => undefined);
  });

  it('is lean: no bench code, no compilers, no npm, no source maps; runs as uid 10001 by default', async () => {
    const out = await docker(
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      TAG,
      '-c',
      'id -u; ls /opt/outrider/dist; for t in gcc cc g++ make python3 npm; do command -v $t; done; find /opt/outrider -name "*.map" -o -name "*.d.ts" | wc -l; ls -ldn /var/lib/outrider',
    );
    const [uid, ...rest] = out.split('\n');
    expect(uid).toBe('10001');
    expect(rest.slice(0, 2).sort()).toEqual(['schemas', 'src']);
    expect(rest[2]).toBe('0');
    expect(rest[3]).toMatch(/^drwxrwx--- \d+ 10001 0 /);
    const config = await docker('run', '--rm', TAG, 'check-config', '--config', '/etc/outrider/sidecar.yaml');
    expect(config).toContain('valid');
  });

  describe('node agent, started with README command', () => {
    const name = `${RUN}-agent`;
    const volume = `${RUN}-agent-data`;
    let events: () => Ev[];

    beforeAll(async () => {
      containers.push(name);
      volumes.push(volume);
      const args = readmeCommand('--name outrider', { outrider: name, 'outrider-data': volume, 'outrider:dev': TAG });
      expect(args).toContain('--read-only');
      await docker('run', ...args);
      expect(await waitFor(async () => (await logsOf(name)).includes('outrider started'), 30_000)).toBe(true);
      // Ready (what the HEALTHCHECK asks) before containers come and go: enrichment is connected by then.
      const ready = async () => {
        try {
          await docker('exec', name, 'node', ENTRY, 'healthcheck');
          return true;
        } catch {
          return false;
        }
      };
      expect(await waitFor(ready, 30_000, 500)).toBe(true);
      const file = await volumeFile(volume, 'data/out/events.ndjson');
      events = () => readNdjson<Ev>(file);
    });

    it('writes every line of a 100-line --rm container once, in order, enriched, with the host name', async () => {
      const cidfile = join(tempDir('outrider-e2e-'), 'cid');
      const started = Date.now();
      await docker(
        'run',
        '--rm',
        '--cidfile',
        cidfile,
        testImage,
        'sh',
        '-c',
        'i=1; while [ $i -le 100 ]; do echo "agent line $i"; i=$((i+1)); done',
      );
      const ms = Date.now() - started;
      const id = readFileSync(cidfile, 'utf8').trim();
      const lines = () =>
        events().filter((e) => e.device?.container?.uid === id && e.message?.startsWith('agent line'));
      expect(await waitFor(() => lines().length >= 100, 30_000), `got ${lines().length}`).toBe(true);
      await new Promise((r) => setTimeout(r, 500)); // nothing more may come
      expect(lines().map((e) => e.message)).toEqual(Array.from({ length: 100 }, (_, i) => `agent line ${i + 1}`));
      const hostName = await docker('info', '--format', '{{.Name}}');
      expect(new Set(lines().map((e) => e.device?.hostname))).toEqual(new Set([hostName]));
      const bare = lines().filter((e) => e.device?.container?.image?.name !== testImage.split(':')[0]);
      expect(bare.length, `not enriched: ${JSON.stringify(bare.slice(0, 2))}`).toBe(0);
      expect(lines().every((e) => /\w/.test(e.device?.container?.name ?? ''))).toBe(true);
      process.stderr.write(`[image e2e] the 100-line container ran (docker run --rm) in ${ms} ms\n`);
    });

    it('writes the lines of a container that lives well under a second', async () => {
      const marker = `blink-${Date.now()}`;
      const started = Date.now();
      await docker('run', '--rm', testImage, 'sh', '-c', `echo ${marker} 1; echo ${marker} 2 >&2`);
      expect(Date.now() - started).toBeLessThan(5000); // the container itself lived milliseconds
      const got = () => events().filter((e) => e.message?.startsWith(marker));
      expect(await waitFor(() => got().length >= 2, 15_000)).toBe(true);
      expect(
        got()
          .map((e) => e.message)
          .sort(),
      ).toEqual([`${marker} 1`, `${marker} 2`]);
    });

    it('does not ship its own logs', async () => {
      const own = await docker('inspect', '-f', '{{.Id}}', name);
      expect((await logsOf(name)).split('\n').length).toBeGreaterThan(3); // it does log
      // Its log lines, that is: engine events about its container (the health checks' execs) are the engine's.
      const ownLines = events().filter(
        (e) => e.device?.container?.uid === own && e.metadata?.log_provider === 'docker json-file',
      );
      expect(ownLines).toEqual([]);
      expect(await logsOf(name)).toContain('"hostname_from":"docker"');
    });

    it('goes healthy (the HEALTHCHECK asks /readyz), and docker stop drains and exits 0', async () => {
      const health = () => docker('inspect', '-f', '{{.State.Health.Status}}', name);
      // The first check runs 30 s (the interval) after the start.
      expect(await waitFor(async () => (await health()) === 'healthy', 90_000, 1000)).toBe(true);
      await docker('stop', name);
      expect(await exitCode(name)).toBe(0);
      expect(await logsOf(name)).toMatch(/"msg":"outrider stopped","drained":true/);
      const all = events();
      expect(all.length).toBeGreaterThan(100);
      const v = validateOcsf(recordOutput('e2e/image-node-agent', all));
      if (v) expect(v.failed, v.output).toBe(0);
    }, 120_000);
  });

  it('ships its own logs when exclude_own_logs is off', async () => {
    const name = `${RUN}-self`;
    containers.push(name);
    const dir = tempDir('outrider-e2e-');
    const config = join(dir, 'self.yaml');
    writeFileSync(
      config,
      'admin: { enabled: false }\nsources:\n  c:\n    type: container_logs\n    exclude_own_logs: false\nsinks:\n  out:\n    type: file\n    inputs: [c]\n    path: /out/events.ndjson\n',
    );
    chmodSync(dir, 0o777);
    await docker(
      'run',
      '-d',
      '--name',
      name,
      '--user',
      '0',
      '-v',
      '/var/lib/docker/containers:/var/lib/docker/containers:ro',
      '-v',
      `${dir}:/out`,
      '-v',
      `${config}:/etc/outrider/self.yaml:ro`,
      TAG,
      'run',
      '--config',
      '/etc/outrider/self.yaml',
    );
    const own = await docker('inspect', '-f', '{{.Id}}', name);
    const mine = () => readNdjson<Ev>(join(dir, 'events.ndjson')).filter((e) => e.device?.container?.uid === own);
    expect(await waitFor(() => mine().some((e) => e.message?.includes('outrider started')), 30_000)).toBe(true);
    await docker('rm', '-f', '-v', name);
  });

  describe('sidecar, started with README command', () => {
    const name = `${RUN}-sidecar`;
    const logs = `${RUN}-app-logs`;
    const volume = `${RUN}-sidecar-data`;
    /** The application writes `n` access log lines into the shared volume (as root, mode 0644, like nginx). */
    const appWrites = (n: number, from: number) => {
      const lines = Array.from(
        { length: n },
        (_, i) =>
          `10.0.0.${(from + i) % 250} - - [23/Nov/2026:10:00:00 +0000] "GET /item/${from + i} HTTP/1.1" 200 512 "-" "curl/8.5"`,
      ).join('\n');
      const script = `echo '${lines}' >> /var/log/app/access.log`;
      return docker('run', '--rm', '-v', `${logs}:/var/log/app`, testImage, 'sh', '-c', script);
    };

    beforeAll(async () => {
      containers.push(name);
      volumes.push(logs, volume);
      await appWrites(50, 1);
      const args = readmeCommand('/etc/outrider/sidecar.yaml', {
        'app-outrider': name,
        'app-logs': logs,
        'app-outrider-data': volume,
        'outrider:dev': TAG,
      });
      await docker('run', ...args);
    });

    it("runs as uid 10001 and ships every line of the application's log volume", async () => {
      expect(await docker('exec', name, 'id', '-u')).toBe('10001');
      const file = await volumeFile(volume, 'data/out/events.ndjson');
      const http = () => readNdjson<Ev>(file).filter((e) => e.class_uid === 4002);
      expect(await waitFor(() => http().length >= 50, 30_000), `got ${http().length}`).toBe(true);
      await appWrites(10, 51);
      expect(await waitFor(() => http().length >= 60, 30_000)).toBe(true);
      expect(http()).toHaveLength(60);
      const hc = await docker('exec', name, 'node', ENTRY, 'healthcheck');
      expect(hc).toBe('ready (http://127.0.0.1:8686/readyz)');
      await docker('stop', name);
      expect(await exitCode(name)).toBe(0);
      const v = validateOcsf(recordOutput('e2e/image-sidecar', readNdjson(file)));
      if (v) expect(v.failed, v.output).toBe(0);
    });
  });

  it("HEALTHCHECK follows the config's admin address: moved, and disabled", async () => {
    const dir = tempDir('outrider-e2e-');
    const sidecar = readFileSync(join(REPO_ROOT, 'config', 'sidecar.yaml'), 'utf8');
    const moved = join(dir, 'moved.yaml');
    writeFileSync(moved, sidecar.replace('address: 127.0.0.1:8686', 'address: 127.0.0.1:9911'));
    const disabled = join(dir, 'disabled.yaml');
    writeFileSync(disabled, sidecar.replace('  address: 127.0.0.1:8686', '  enabled: false'));
    for (const [file, want] of [
      [moved, 'ready (http://127.0.0.1:9911/readyz)'],
      [disabled, 'admin endpoint disabled in /etc/outrider/custom.yaml; outrider runs (pid 1)'],
    ] as const) {
      chmodSync(file, 0o644);
      const name = `${RUN}-hc-${containers.length}`;
      containers.push(name);
      // The image's own HEALTHCHECK command, run every second here instead of every 30 s.
      await docker(
        'run',
        '-d',
        '--name',
        name,
        '--health-interval',
        '1s',
        '-v',
        `${file}:/etc/outrider/custom.yaml:ro`,
        TAG,
        'run',
        '--config',
        '/etc/outrider/custom.yaml',
      );
      const health = () => docker('inspect', '-f', '{{.State.Health.Status}}', name);
      expect(await waitFor(async () => (await health()) === 'healthy', 30_000, 500), file).toBe(true);
      const log = JSON.parse(await docker('inspect', '-f', '{{json .State.Health.Log}}', name)) as Array<{
        Output: string;
      }>;
      expect(log.at(-1)?.Output.trim()).toBe(want);
      await docker('rm', '-f', '-v', name);
    }
  });

  describe('bad input: exits within seconds with one line naming the path and the fix', () => {
    /** Runs the image to its end: exit `code` within seconds, `line` alone on stderr. */
    async function failsWith(code: number, line: string, ...args: string[]): Promise<void> {
      const r = await runToExit(...args);
      expect(r.code, r.stderr).toBe(code);
      expect(r.ms).toBeLessThan(15_000);
      expect(r.stderr.trim().split('\n')).toEqual([line]);
    }

    it('a missing config', async () => {
      await failsWith(
        2,
        'cannot read config file /etc/outrider/missing.yaml: ENOENT (no such file or directory): check the path; in a container, mount the file (e.g. -v $PWD/outrider.yaml:/etc/outrider/outrider.yaml:ro)',
        TAG,
        'run',
        '--config',
        '/etc/outrider/missing.yaml',
      );
    });

    it('an unreadable config', async () => {
      const file = join(tempDir('outrider-e2e-'), 'secret.yaml');
      writeFileSync(file, readFileSync(join(REPO_ROOT, 'config', 'sidecar.yaml')));
      chmodSync(file, 0o600); // root's; the image runs as 10001
      await failsWith(
        2,
        'cannot read config file /etc/outrider/secret.yaml: EACCES (permission denied for uid 10001 gid 10001): make it readable for that user (e.g. chmod a+r), or mount it readable',
        ...['-v', `${file}:/etc/outrider/secret.yaml:ro`, TAG, 'run', '--config', '/etc/outrider/secret.yaml'],
      );
    });

    it('an unwritable data volume', async () => {
      const volume = `${RUN}-rootowned`;
      volumes.push(volume);
      // A volume whose data directory root made (e.g. an older node agent's), used by the non-root sidecar.
      await docker('run', '--rm', '-v', `${volume}:/v`, testImage, 'sh', '-c', 'mkdir /v/data');
      await failsWith(
        1,
        'outrider: cannot write data_dir /var/lib/outrider/data: EACCES (permission denied for uid 10001 gid 10001): make it writable for that user (e.g. chown), or set data_dir to a writable directory',
        ...['-v', `${volume}:/var/lib/outrider`, TAG, 'run', '--config', '/etc/outrider/sidecar.yaml'],
      );
    });
  });
});

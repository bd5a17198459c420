// The CLI keeps the promises its help makes: --help on every subcommand, usage errors exit 2, check-config helps
// fix what it finds, an old Node is told what it needs, normalise says what it does with large or compressed input.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { MIN_NODE } from '../../src/cli/node-version.ts';
import { ensureBuilt } from '../support/build.ts';
import { REPO_ROOT } from '../support/output.ts';

let cli: string;
beforeAll(() => {
  cli = ensureBuilt();
});

const run = (args: string[], input?: string | Buffer, node = process.execPath) =>
  spawnSync(node, [cli, ...args], { encoding: 'utf8', input, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });

const dir = mkdtempSync(join(tmpdir(), 'outrider-usage-'));
const write = (name: string, text: string | Buffer) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

const COMMANDS = ['run', 'check-config', 'normalise', 'test-rules', 'config-reference', 'healthcheck'];

describe('an old Node', () => {
  // The machine's system Node (20 here) next to the Node 24 the tests run on.
  const old = ['/usr/bin/node', '/usr/local/bin/node'].find((n) => {
    if (!existsSync(n)) return false;
    const major = Number(execFileSync(n, ['--version'], { encoding: 'utf8' }).slice(1).split('.')[0]);
    return major < MIN_NODE[0];
  });
  if (!old) process.stderr.write('\n!!! SKIPPING the old-Node test: no Node older than 22 on this machine\n\n');

  it.skipIf(!old)('is told which Node Outrider needs and how to get it, exit 2, for every command', () => {
    for (const args of [['--help'], ['run'], ['normalise', '--format', 'cri', '-']]) {
      const r = run(args, '', old);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^outrider: needs Node\.js 22\.15 or newer; this is Node\.js v(1\d|2[01])\./);
      expect(r.stderr).toContain('npm install -g --prefix ~/.cache/node24 node@24');
      expect(r.stderr).not.toContain('SyntaxError');
    }
  });

  it("checks the same minimum as package.json's engines", () => {
    const engines = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).engines.node;
    expect(engines).toBe(`>=${MIN_NODE.join('.')}.0`);
  });
});

describe('usage', () => {
  it('--help works on every subcommand: its synopsis and what it does, exit 0', () => {
    for (const c of COMMANDS) {
      const r = run([c, '--help']);
      expect(r.status, `${c}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: outrider ${c}`));
      expect(r.stdout.split('\n').length).toBeGreaterThan(3);
    }
    expect(run(['--help']).stdout).toMatch(/outrider healthcheck \[--config FILE\] \[--live\]/);
  });

  it('usage errors exit 2 with the synopsis: unknown options (with the closest one), extra arguments', () => {
    for (const c of COMMANDS) {
      const r = run([c, '--bogus-option']);
      expect(r.status, c).toBe(2);
      expect(r.stderr).toContain(`outrider ${c}: unknown option --bogus-option`);
      expect(r.stderr).toContain(`usage: outrider ${c}`);
    }
    const typo = run(['check-config', '--confg', 'x.yaml']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('unknown option --confg (did you mean "--config"?)');
    expect(run(['run', 'extra']).status).toBe(2);
    const cmd = run(['chek-config']);
    expect([cmd.status, cmd.stderr]).toEqual([2, expect.stringContaining('did you mean "check-config"?')]);
  });

  it('an unknown or missing --format is a usage error (exit 2), with the closest format', () => {
    const r = run(['normalise', '--format', 'docker-jsn', '-'], '');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown format "docker-jsn" (did you mean "docker-json"?)');
    expect(run(['normalise', '-'], '').status).toBe(2);
    const rules = write('rules.yaml', 'sources: {}\nsinks: {}\n');
    expect(run(['test-rules', '--config', rules, '--format', 'nope', '-'], '').status).toBe(2);
  });
});

describe('check-config', () => {
  it('suggests the closest key for an unknown one, at every level', () => {
    const file = write(
      'typos.yaml',
      'sink: {}\nsources:\n  c:\n    type: container_logs\n    inclde: [/x/*.log]\n    read_form: end\nsinks:\n  s:\n    type: file\n    inputs: [c]\n    path: /tmp/x\n    batch: { max_event: 10 }\n',
    );
    const r = run(['check-config', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'sink: unknown key (did you mean "sinks"?)',
      'sources.c.inclde: unknown key (did you mean "include"?)',
      'sources.c.read_form: unknown key (did you mean "read_from"?)',
      'sinks.s.batch.max_event: unknown key (did you mean "max_events"?)',
    ]);
  });

  it("shows a YAML error's context in full: the position, the line and a caret under the column", () => {
    const file = write('broken.yaml', 'sources:\n  c:\n    type: container_logs\n    include: [/x/*.log\nsinks: {}\n');
    const r = run(['check-config', '--config', file]);
    expect(r.status).toBe(2);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toMatch(/^YAML: .* at line \d+, column \d+$/);
    const caret = lines.findIndex((l) => /^\s+\^$/.test(l));
    expect(caret, r.stderr).toBeGreaterThan(0);
    expect(lines[caret - 1]).toMatch(/\S/);
  });

  it('--no-env checks a config whose ${VAR} secrets are not set here; without it they are problems', () => {
    const file = write(
      'secrets.yaml',
      'sources:\n  c:\n    type: container_logs\nsinks:\n  hec:\n    type: splunk_hec\n    inputs: [c]\n    endpoint: ${OUTRIDER_TEST_HEC_URL}\n    token: ${file:/run/secrets/outrider-test-hec}\n    shiny: 1\n',
    );
    const withEnv = run(['check-config', '--config', file]);
    expect(withEnv.status).toBe(2);
    expect(withEnv.stderr).toContain('sinks.hec.endpoint: environment variable OUTRIDER_TEST_HEC_URL is not set');
    const noEnv = run(['check-config', '--config', file, '--no-env']);
    // Unset secrets are not problems, but everything else still is.
    expect(noEnv.stderr.trim()).toBe('sinks.hec.shiny: unknown key');
    writeFileSync(file, readFileSync(file, 'utf8').replace('    shiny: 1\n', ''));
    const clean = run(['check-config', '--config', file, '--no-env']);
    expect(clean.status, clean.stderr).toBe(0);
    expect(clean.stdout).toContain(
      'not checked (${…} left unresolved by --no-env): sinks.hec.endpoint, sinks.hec.token',
    );
    expect(clean.stdout).toContain('valid (1 sources, 0 transforms, 1 sinks)');
  });

  it('names the missing config file and how to fix it', () => {
    const r = run(['check-config', '--config', join(dir, 'missing.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${join(dir, 'missing.yaml')}: ENOENT (no such file or directory): check the path`);
  });
});

describe('normalise', () => {
  const lines = Array.from(
    { length: 2000 },
    (_, i) => `{"log":"line ${i}\\n","stream":"stdout","time":"2026-11-23T10:00:00.${String(i).padStart(9, '0')}Z"}`,
  ).join('\n');
  const messages = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).message as string);

  it('decompresses gzip and zstd input, and says so', () => {
    const plain = run(['normalise', '--format', 'docker-json', write('plain.log', lines)]);
    expect(plain.status).toBe(0);
    for (const [name, bytes] of [
      ['gzip', gzipSync(lines)],
      ['zstd', zstdCompressSync(lines)],
    ] as const) {
      const file = write(`in.log.${name}`, bytes);
      const r = run(['normalise', '--format', 'docker-json', file]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`normalise: ${file} is ${name}-compressed: decompressing it`);
      expect(messages(r.stdout)).toEqual(messages(plain.stdout));
      const stdin = run(['normalise', '--format', 'docker-json', '-'], bytes);
      expect(stdin.stderr).toContain(`stdin is ${name}-compressed`);
      expect(messages(stdin.stdout)).toHaveLength(2000);
    }
    const xz = run([
      'normalise',
      '--format',
      'docker-json',
      write('in.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1])),
    ]);
    expect(xz.status).toBe(1);
    expect(xz.stderr).toContain('looks xz-compressed: decompress it first');
  });

  it('reports progress (lines, rate) on stderr when it is a terminal, and not otherwise', () => {
    // A pseudo-terminal from script(1); the input arrives over 2.5 s, so the once-a-second report must show.
    const input = write('slow.log', lines);
    const out = join(dir, 'progress.ndjson');
    const shell = `(head -n 1000 '${input}'; sleep 2.5; tail -n +1001 '${input}') | '${process.execPath}' '${cli}' normalise --format docker-json - > '${out}'`;
    const r = spawnSync('script', ['-qec', shell, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/normalise: 1,000 lines, [\d,]+ lines\/s/);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2000);
    const piped = spawnSync('sh', ['-c', shell.replace(`> '${out}'`, '> /dev/null')], { encoding: 'utf8' });
    expect(piped.stderr).not.toContain('lines/s');
  });
});

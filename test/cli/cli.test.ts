// The CLI as an operator runs it: the built binary, its exit codes and its output.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.ts';
import { CORPORA, REPO_ROOT, recordOutput, validateOcsf } from '../support/output.ts';

let cli: string;
beforeAll(() => {
  cli = ensureBuilt();
});

const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    input,
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });

describe('outrider CLI', () => {
  it('prints help and version', () => {
    expect(run(['--help']).stdout).toMatch(/outrider run \[--config FILE\]/);
    expect(run(['--version']).stdout).toMatch(/^outrider \d+\.\d+\.\d+/);
    expect(run(['bogus']).status).toBe(2);
  });

  it('check-config: exit 0 for the embedded default, exit 2 with one line per problem otherwise', () => {
    const ok = run(['check-config', '--config', join(REPO_ROOT, 'config', 'outrider.yaml')]);
    expect(ok.status, ok.stderr).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'sources:\n  c:\n    type: container_logs\n    shiny: true\nsinks:\n  s:\n    type: file\n    inputs: [c]\n',
    );
    const r = run(['check-config', '--config', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'sources.c.shiny: unknown key',
      'sinks.s.path: required (expected string)',
    ]);
  });

  it('normalise: one event per reassembled line on stdout, a summary on stderr, exit 0 despite bad lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const file = join(dir, 'mixed.log');
    writeFileSync(
      file,
      [
        '{"log":"part one ","stream":"stdout","time":"2026-11-23T10:00:00.000000001Z"}',
        '{"log":"and two\\n","stream":"stdout","time":"2026-11-23T10:00:00.000000002Z"}',
        'not json at all',
        '{"log":"{\\"level\\":\\"warn\\",\\"msg\\":\\"disk\\"}\\n","stream":"stderr","time":"2026-11-23T10:00:01Z"}',
      ].join('\n'),
    );
    const r = run(['normalise', '--format', 'docker-json', file]);
    expect(r.status).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.message)).toEqual(['part one and two', 'not json at all', 'disk']);
    expect(events[2].unmapped).toEqual({ fields: { level: 'warn' } });
    expect(JSON.parse(r.stderr)).toMatchObject({
      lines: 4,
      events: 3,
      bad_input_kept_raw: 1,
      problems: { malformed_record: 1 },
    });
    const v = validateOcsf(recordOutput('cli/normalise-docker-json', events));
    if (v) expect(v.failed, v.output).toBe(0);
  });

  it('normalise reads stdin with "-" and takes Kubernetes identity from CRI pod paths', () => {
    const pod = join(
      CORPORA,
      'cri',
      'local-conmon-capture',
      'var/log/pods/warehouse_inventory-5d9c7b8f6-q8w2n_9b2f4c1e-8a7d-4e3b-b5c6-1d2e3f4a5b6c/inventory/0.log',
    );
    const r = run(['normalise', '--format', 'cri', pod]);
    expect(r.status).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0].device.container.tags).toContainEqual({
      name: 'k8s.pod.name',
      value: 'inventory-5d9c7b8f6-q8w2n',
    });
    const stdin = run(['normalise', '--format', 'cri', '-'], '2026-11-23T10:00:00Z stdout F hello\n');
    expect(JSON.parse(stdin.stdout).message).toBe('hello');
    const v = validateOcsf(recordOutput('cli/normalise-cri', events));
    if (v) expect(v.failed, v.output).toBe(0);
  });
});

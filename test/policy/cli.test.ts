// The policy commands as an operator runs them: check-config warnings (exit 0) and errors (exit 2) for rules, and
// test-rules' per-event dry run, through the built binary.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.ts';
import { tempDir } from '../support/outrider.ts';
import { rulesConfigText, SECRETS } from './secrets-corpus.ts';

let cli: string;
beforeAll(() => {
  cli = ensureBuilt();
});

const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });

function config(rules: string): string {
  const file = join(tempDir(), 'outrider.yaml');
  writeFileSync(
    file,
    rulesConfigText(rules, 'siem: {type: stdout, inputs: [policy]}, archive: {type: stdout, inputs: [policy]}'),
  );
  return file;
}

describe('policy commands', () => {
  it('check-config prints unreachable rules as warnings (exit 0) and bad rules as errors (exit 2)', () => {
    const warned = run([
      'check-config',
      '--config',
      config(`      - {name: all, action: drop}
      - {name: late, route: [siem]}`),
    ]);
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stdout).toMatch(
      /^warning: transforms\.policy\.rules\[1\]: rule "late" is unreachable: rule "all" \(rules\[0\]\) drops every event before it$/m,
    );
    const bad = run(['check-config', '--config', config('      - {name: r, when: {field: message, regex: "(x"}}')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^transforms\.policy\.rules\[0\]\.when\.regex: invalid regular expression/m);
  });

  it('test-rules prints per event what the rules would do, on redacted events', () => {
    const input = join(tempDir(), 'access.log');
    writeFileSync(
      input,
      `10.0.0.2 - - [02/Jan/2026:03:04:06 +0000] "GET /login?password=${SECRETS.passwordArgument} HTTP/1.1" 403 10 "-" "curl/8.0"\n`,
    );
    const r = run([
      'test-rules',
      '--config',
      config(`      - {name: redacted, when: {field: metadata.labels, equals: redacted}, route: [siem]}`),
      '--format',
      'nginx',
      input,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('#1 4002 HTTP Activity severity=1: policy/redacted (route → siem) → to siem\n');
    expect(JSON.parse(r.stderr)).toMatchObject({ events: 1, routed: 1, matches: { 'policy/redacted': 1 } });
  });
});

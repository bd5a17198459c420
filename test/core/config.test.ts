import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfig } from '../../src/config/load.ts';
import { factoryTypes, findFactory } from '../../src/registry.ts';

const parse = (yaml: string, env: NodeJS.ProcessEnv = {}) => parseConfig(yaml, findFactory, factoryTypes, env);

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parse(yaml, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

const VALID = `
sources:
  containers:
    type: container_logs
sinks:
  archive:
    type: file
    inputs: [containers]
    path: /tmp/x.ndjson
`;

describe('config validation', () => {
  it('accepts the minimal config and fills defaults', () => {
    const c = parse(VALID);
    expect(c.sources[0]!.config).toMatchObject({
      format: 'auto',
      include: ['/var/lib/docker/containers/*/*-json.log'],
      read_from: 'beginning',
    });
    expect(c.sinks[0]!.config).toMatchObject({ fsync: true, batch: { max_events: expect.any(Number) } });
    expect(c.admin.address).toBe('127.0.0.1:8686');
  });

  it('names the exact key of every problem, unknown keys included', () => {
    const got = problems(`
data_dirr: /x
sources:
  containers:
    type: container_logs
    poll_interval: soon
    multiline: { mode: sideways, condition_pattern: "(" }
sinks:
  archive:
    type: file
    inputs: [containers, nope]
    path: /tmp/x.ndjson
    rotate: { max_bytes: lots }
    colour: blue
`);
    expect(got).toContain('data_dirr: unknown key (did you mean "data_dir"?)');
    expect(got.join('\n')).toMatch(/^sources\.containers\.poll_interval: invalid duration "soon"/m);
    expect(got.join('\n')).toMatch(/^sources\.containers\.multiline\.mode: /m);
    expect(got.join('\n')).toMatch(/^sources\.containers\.multiline\.condition_pattern: invalid regular expression: /m);
    expect(got.join('\n')).toMatch(/^sinks\.archive\.rotate\.max_bytes: invalid size "lots"/m);
    expect(got).toContain('sinks.archive.colour: unknown key');
  });

  it('checks the graph: unknown inputs, unknown types, sources that feed nothing', () => {
    expect(problems(VALID.replace('inputs: [containers]', 'inputs: [nope]'))).toEqual([
      'sinks.archive.inputs[0]: no source or transform named "nope"',
      'sources.containers: no transform or sink takes this source as input',
    ]);
    expect(problems(VALID.replace('type: file', 'type: carrier-pigeon'))[0]).toMatch(
      /^sinks\.archive\.type: unknown sink type "carrier-pigeon" \(known: .*file/,
    );
  });

  it('interpolates ${ENV}, ${ENV:-default} and ${file:/path} in values, and says which key failed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'secret'), 'from-file\n');
    const c = parse(
      VALID.replace('/tmp/x.ndjson', `/tmp/\${OUT_NAME}-\${MISSING:-dflt}-\${file:${join(dir, 'secret')}}.ndjson`),
      { OUT_NAME: 'events' },
    );
    expect(c.sinks[0]!.config.path).toBe('/tmp/events-dflt-from-file.ndjson');
    expect(problems(VALID.replace('/tmp/x.ndjson', '${NOT_SET}'))).toEqual([
      'sinks.archive.path: environment variable NOT_SET is not set',
    ]);
  });

  it('reports YAML syntax errors before anything else', () => {
    expect(problems('sources: [unclosed')[0]).toMatch(/^YAML: /);
  });
});

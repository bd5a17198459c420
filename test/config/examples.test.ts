// Every example config under config/examples/ must pass `outrider check-config` (the built CLI). Environment
// variables an example references for its secrets are set to placeholders: the check is about the config's shape.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.ts';
import { REPO_ROOT } from '../support/output.ts';

const EXAMPLES = join(REPO_ROOT, 'config', 'examples');
const files = readdirSync(EXAMPLES).filter((f) => /\.ya?ml$/.test(f));

describe('config/examples', () => {
  it('has examples', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s passes check-config', (name) => {
    const cli = ensureBuilt();
    const file = join(EXAMPLES, name);
    const referenced = [...readFileSync(file, 'utf8').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)].map(
      (m) => m[1]!,
    );
    const env = { ...process.env, ...Object.fromEntries(referenced.map((v) => [v, `placeholder-${v.toLowerCase()}`])) };
    const out = execFileSync(process.execPath, [cli, 'check-config', '--config', file], { env, encoding: 'utf8' });
    expect(out).toContain(': valid (');
  });
});

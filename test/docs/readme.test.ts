// README's configuration reference is generated from the schemas that validate configs: it must match them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { renderConfigReference } from '../../src/config/reference.ts';
import { allFactories } from '../../src/registry.ts';
import { REPO_ROOT } from '../support/output.ts';

it('README.md documents every config key as the schemas define it (run scripts/update-readme.mjs after changing a schema)', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- config-reference:start');
  const end = readme.indexOf('<!-- config-reference:end -->');
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(readme.indexOf('-->', start) + 4, end);
  expect(section).toBe(renderConfigReference(allFactories()));
});

it("README's test command is the one .ci/run calls", () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8');
  expect(readme).toContain('bash scripts/dev.sh test');
  expect(ci).toContain('bash scripts/dev.sh test');
});

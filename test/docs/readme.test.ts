// README's generated sections must match their sources: the config reference the schemas give, and the analyst
// mapping tables of docs/. Run `npm run build && node scripts/update-readme.mjs` after changing either.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script shared with scripts/update-readme.mjs, without type declarations
import { DOCS_SECTIONS, docsSection, generatedSection } from '../../scripts/readme.mjs';
import { renderConfigReference } from '../../src/config/reference.ts';
import { allFactories } from '../../src/registry.ts';
import { REPO_ROOT } from '../support/output.ts';

const readme = () => readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

it('README.md documents every config key as the schemas define it', () => {
  expect(generatedSection(readme(), 'config-reference')).toBe(renderConfigReference(allFactories()));
});

it('README.md carries the sections of docs/ it quotes (analyst mapping, SIEM how-to, policy cookbook) as they are', () => {
  for (const name of DOCS_SECTIONS) expect(generatedSection(readme(), name), name).toBe(docsSection(name));
});

it("README's test command is the one .ci/run calls", () => {
  const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8');
  expect(readme()).toContain('bash scripts/dev.sh test');
  expect(ci).toContain('bash scripts/dev.sh test');
});

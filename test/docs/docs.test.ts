// The generated documents must match the schemas they come from, and README must stay an entry page whose links
// lead somewhere. After changing a config schema: `npm run build && node scripts/gen-docs.mjs`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect, it } from 'vitest';
import YAML from 'yaml';
import { configJsonSchema, renderConfigReference } from '../../src/config/reference.ts';
import { allFactories } from '../../src/registry.ts';
import { REPO_ROOT } from '../support/output.ts';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const DOC_PAGES = ['README.md', 'docs/architecture.md', 'docs/configuration.md', 'docs/enrichment.md'].concat(
  ['ocsf-mapping', 'operations', 'performance', 'policy', 'sinks'].map((p) => `docs/${p}.md`),
);

it('docs/configuration.md documents every config key as the schemas define it', () => {
  expect(read('docs/configuration.md')).toBe(renderConfigReference(allFactories()));
});

it("schemas/outrider-config.schema.json is the config's JSON Schema as the schemas define it", () => {
  expect(JSON.parse(read('schemas/outrider-config.schema.json'))).toEqual(configJsonSchema(allFactories()));
});

it('the JSON Schema offers every registered component type, selected by `type`', () => {
  const schema = configJsonSchema(allFactories()) as {
    properties: Record<string, { additionalProperties: { oneOf: Array<{ properties: { type: { const: string } } }> } }>;
  };
  for (const kind of ['source', 'transform', 'sink'] as const) {
    const offered = schema.properties[`${kind}s`]?.additionalProperties.oneOf.map((c) => c.properties.type.const);
    expect(offered).toEqual(
      allFactories()
        .filter((f) => f.kind === kind)
        .map((f) => f.type),
    );
  }
});

it('an editor checking configs with the JSON Schema accepts every shipped config and flags an unknown key', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
  const validate = ajv.compile(JSON.parse(read('schemas/outrider-config.schema.json')));
  const shipped = [
    'config/outrider.yaml',
    'config/sidecar.yaml',
    ...readdirSync(join(REPO_ROOT, 'config/examples')).map((f) => `config/examples/${f}`),
  ];
  for (const file of shipped)
    expect(validate(YAML.parse(read(file))), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
  expect(validate({ sources: { logs: { type: 'file', include: ['/x'], shiny: 1 } }, sinks: {} })).toBe(false);
});

it('README is an entry page: short, with the two commands, and every relative link of the docs resolves', () => {
  const readme = read('README.md');
  expect(readme.length).toBeLessThan(16 * 1024);
  expect(readme).toContain('bash scripts/dev.sh run');
  expect(readme).toContain('bash scripts/dev.sh test');
  expect(read('.ci/run')).toContain('bash scripts/dev.sh test');
  for (const page of DOC_PAGES) {
    for (const [, target = ''] of read(page).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      expect(existsSync(join(REPO_ROOT, dirname(page), target)), `${page} links to ${target}`).toBe(true);
    }
  }
});

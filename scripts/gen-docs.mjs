#!/usr/bin/env node
// Writes the generated documents from the config schemas: docs/configuration.md and schemas/outrider-config.schema.json.
//   npm run build && node scripts/gen-docs.mjs        (test/docs/docs.test.ts fails when they are out of step)
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = (...args) =>
  execFileSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'config-reference', ...args], {
    encoding: 'utf8',
  });
writeFileSync(join(root, 'docs', 'configuration.md'), cli());
writeFileSync(join(root, 'schemas', 'outrider-config.schema.json'), cli('--json-schema'));
console.log('docs/configuration.md and schemas/outrider-config.schema.json written');

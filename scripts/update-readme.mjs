#!/usr/bin/env node
// Rewrites README.md's generated sections (see scripts/readme.mjs):  npm run build && node scripts/update-readme.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCS_SECTIONS, docsSection, replaceSection } from './readme.mjs';

const root = join(import.meta.dirname, '..');
const reference = execFileSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'config-reference'], {
  encoding: 'utf8',
});
let readme = readFileSync(join(root, 'README.md'), 'utf8');
readme = replaceSection(readme, 'config-reference', reference);
for (const name of DOCS_SECTIONS) readme = replaceSection(readme, name, docsSection(name));
writeFileSync(join(root, 'README.md'), readme);
console.log('README.md generated sections updated');

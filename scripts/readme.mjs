// README.md has generated sections, each between `<!-- NAME:start … -->` and `<!-- NAME:end -->` markers:
//   config-reference  the configuration reference, from the zod schemas (`outrider config-reference`)
//   analyst-mapping   the analyst-facing parts of docs/ocsf-mapping.md and docs/enrichment.md (one source of truth)
//   siem-howto        how to point Outrider at each kind of SIEM, from docs/sinks.md
//   policy-cookbook   the policy cookbook, from docs/policy.md
// `node scripts/update-readme.mjs` rewrites them; test/docs/readme.test.ts fails when README.md is out of step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** Parts of docs pages copied into README sections, from a heading (inclusive) to the next of `until`; `title`
 * heads a part whose own headings are then nested one level deeper; `withoutHeading` drops the part's first heading
 * (README has its own). */
const SECTIONS = {
  'analyst-mapping': [
    { file: 'docs/ocsf-mapping.md', from: '## Rules every mapper follows', until: ['## Measured'] },
    { file: 'docs/ocsf-mapping.md', from: '## Sample analyst queries', until: ['## Not done (yet)'] },
    {
      file: 'docs/enrichment.md',
      from: '### Mapping (OCSF 1.8)',
      until: ['## `outrider normalise'],
      title: '### Docker engine events (`docker_events` source, `normalise --format docker-events`)',
    },
  ],
  'siem-howto': [{ file: 'docs/sinks.md', from: '## OpenTelemetry Collector (`otlp_http`)', until: ['## Measured'] }],
  'policy-cookbook': [
    { file: 'docs/policy.md', from: '## Cookbook', until: ['## Behaviour baselines'], withoutHeading: true },
  ],
};

function section(text, from, until) {
  const a = text.indexOf(`\n${from}\n`);
  if (a < 0) throw new Error(`heading "${from}" not found`);
  const rest = text.slice(a + 1);
  let b = rest.length;
  for (const u of until) {
    const i = rest.indexOf(`\n${u}`);
    if (i >= 0 && i < b) b = i;
  }
  return rest.slice(0, b).trimEnd();
}

/** A generated section's content: headings one level deeper, so they nest under README's own heading. */
export function docsSection(name) {
  const parts = SECTIONS[name].map(({ file, from, until, title, withoutHeading }) => {
    let body = section(readFileSync(join(root, file), 'utf8'), from, until);
    if (withoutHeading) body = body.slice(body.indexOf('\n') + 1).trimStart();
    body = body.replace(/^(#{2,5}) /gm, '#$1 ');
    return `${title ? `${title}\n\n` : ''}${body}\n\n_(from [${file}](${file}))_`;
  });
  return `${parts.join('\n\n')}\n`;
}

export const DOCS_SECTIONS = Object.keys(SECTIONS);

export function replaceSection(readme, name, content) {
  const start = readme.indexOf(`<!-- ${name}:start`);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${name} markers`);
  const startEnd = readme.indexOf('-->', start) + 3;
  return `${readme.slice(0, startEnd)}\n${content}${readme.slice(end)}`;
}

export function generatedSection(readme, name) {
  const start = readme.indexOf(`<!-- ${name}:start`);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${name} markers`);
  return readme.slice(readme.indexOf('-->', start) + 4, end);
}

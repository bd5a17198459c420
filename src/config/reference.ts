// The configuration reference (README "Configuration reference"), generated from the same zod schemas that validate
// configs, so the documentation cannot drift from what Outrider accepts (a test compares README with this output).
import { z } from 'zod';
import type { AnyFactory } from '../core/component.ts';
import { topLevelSchema } from './schema.ts';

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  unit?: string;
};

function typeOf(s: JsonSchema): string {
  if (s.unit === 'duration') return 'duration (e.g. `500ms`, `5s`, `2m`; number = ms)';
  if (s.unit === 'size') return 'size (e.g. `64KiB`, `100MB`; number = bytes)';
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'values'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return 'map';
  return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
}

function formatDefault(v: unknown, unit: string | undefined): string {
  if (v === undefined) return '';
  if (unit === 'duration' && typeof v === 'number') return v % 1000 === 0 ? `\`${v / 1000}s\`` : `\`${v}ms\``;
  if (unit === 'size' && typeof v === 'number') {
    for (const [suffix, n] of [
      ['GiB', 1024 ** 3],
      ['MiB', 1024 ** 2],
      ['KiB', 1024],
    ] as const) {
      if (v % n === 0) return `\`${v / n}${suffix}\``;
    }
  }
  return `\`${JSON.stringify(v)}\``;
}

interface Row {
  key: string;
  type: string;
  required: boolean;
  default: string;
  description: string;
}

function rows(input: JsonSchema, output: JsonSchema, prefix: string, out: Row[], skip: Set<string>): void {
  for (const [key, prop] of Object.entries(input.properties ?? {})) {
    if (!prefix && skip.has(key)) continue;
    const outProp = output.properties?.[key] ?? {};
    const path = prefix ? `${prefix}.${key}` : key;
    const nested =
      prop.type === 'object' && prop.properties ? prop : prop.anyOf?.find((a) => a.type === 'object' && a.properties);
    const nestedOut =
      outProp.type === 'object' && outProp.properties ? outProp : (outProp.anyOf?.find((a) => a.properties) ?? outProp);
    const required = (input.required ?? []).includes(key);
    if (nested?.properties) {
      out.push({
        key: path,
        type: 'object',
        required,
        default: '',
        description: prop.description ?? nested.description ?? '',
      });
      rows(nested, nestedOut, path, out, skip);
      continue;
    }
    out.push({
      key: path,
      type: typeOf(prop),
      required,
      default: formatDefault(outProp.default ?? prop.default, prop.unit),
      description: (prop.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' '),
    });
  }
}

function table(schema: z.ZodType, skip: Set<string> = new Set()): string {
  const input = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const output = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  const out: Row[] = [];
  rows(input, output, '', out, skip);
  const lines = ['| key | type | default | description |', '|---|---|---|---|'];
  for (const r of out)
    lines.push(`| \`${r.key}\`${r.required ? ' (required)' : ''} | ${r.type} | ${r.default} | ${r.description} |`);
  return lines.join('\n');
}

const KIND_TITLE = { source: 'Sources', transform: 'Transforms', sink: 'Sinks' } as const;

export function renderConfigReference(factories: readonly AnyFactory[]): string {
  const parts = ['### Top level', '', table(topLevelSchema, new Set(['sources', 'transforms', 'sinks']))];
  parts.push(
    '',
    'Each entry of `sources`, `transforms` and `sinks` is named by its key and has a `type`; the other keys depend on the type.',
  );
  for (const kind of ['source', 'transform', 'sink'] as const) {
    for (const f of factories.filter((x) => x.kind === kind)) {
      parts.push('', `### ${KIND_TITLE[kind]}: \`type: ${f.type}\``, '', f.description, '', table(f.configSchema));
    }
  }
  return `${parts.join('\n')}\n`;
}

import type { z } from 'zod';
import { didYouMean } from './suggest.ts';

export interface ConfigProblem {
  /** Dotted key path, e.g. `sinks.siem.endpoint`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

export function joinPath(prefix: string, segments: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out ? `.${String(s)}` : String(s);
  }
  return out;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  innerType?: { _zod: { def: SchemaDef } };
  element?: { _zod: { def: SchemaDef } };
  valueType?: { _zod: { def: SchemaDef } };
  options?: Array<{ _zod: { def: SchemaDef } }>;
  in?: { _zod: { def: SchemaDef } };
}

/** The keys an object schema accepts at `path` inside `schema` (through defaults, optionals, arrays, records,
 * unions and pipes), for suggesting the intended one when a key is unknown. */
export function knownKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  const keys = new Set<string>();
  const walk = (def: SchemaDef, i: number): void => {
    const inner = def.innerType ?? def.in;
    if (inner) walk(inner._zod.def, i);
    else if (def.type === 'union') for (const o of def.options ?? []) walk(o._zod.def, i);
    else if (i === path.length) for (const k of Object.keys(def.shape ?? {})) keys.add(k);
    else {
      const next = def.shape?.[String(path[i])] ?? def.element ?? def.valueType;
      if (next) walk(next._zod.def, i + 1);
    }
  };
  walk((schema as unknown as { _zod: { def: SchemaDef } })._zod.def, 0);
  return [...keys];
}

/** One problem per zod issue, with the full key path; unknown keys get one line each, with the closest known key
 * when `schema` (the one that produced the error) is given. */
export function problemsFromZod(error: z.ZodError, prefix: string, schema?: z.ZodType): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const path = joinPath(prefix, issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = schema ? knownKeysAt(schema, issue.path) : [];
      for (const key of issue.keys)
        out.push({ path: joinPath(path, [key]), message: `unknown key${didYouMean(key, known)}` });
    } else if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
      out.push({ path, message: `required (expected ${issue.expected})` });
    } else if (issue.code === 'invalid_format' && issue.format === 'url') {
      out.push({ path, message: 'invalid URL' });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

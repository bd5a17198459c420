import type { z } from 'zod';

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

/** One problem per zod issue, with the full key path; unknown keys get one line each. */
export function problemsFromZod(error: z.ZodError, prefix: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const path = joinPath(prefix, issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: joinPath(path, [key]), message: 'unknown key' });
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

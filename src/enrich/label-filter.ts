// Which labels (Docker container labels, Kubernetes pod labels and annotations) are copied onto events: an
// allow-list, because labels may hold secrets (tokens passed as labels happen) and some are long. Shared by every
// metadata cache, with its config keys.
import { z } from 'zod';

/** Allow-listed keys and key prefixes. A prefix of "" copies everything. */
export interface LabelFilter {
  keys: string[];
  prefixes: string[];
}

export function filterLabels(labels: Record<string, string> | null | undefined, filter: LabelFilter) {
  const out: Record<string, string> = {};
  if (!labels) return out;
  const keys = new Set(filter.keys);
  for (const [k, v] of Object.entries(labels)) {
    if (keys.has(k) || filter.prefixes.some((p) => k.startsWith(p))) out[k] = v;
  }
  return out;
}

/** The config keys of one allow-list (`{keys, prefixes}`), with its defaults and what it copies. */
export function labelFilterSchema(defaults: LabelFilter, what: string, description: string) {
  return z
    .strictObject({
      keys: z.array(z.string().min(1)).default(defaults.keys).describe(`${what} keys copied as they are.`),
      prefixes: z
        .array(z.string())
        .default(defaults.prefixes)
        .describe(`${what} key prefixes copied ("" copies every one: they may hold secrets, so think first).`),
    })
    .default({ keys: defaults.keys, prefixes: defaults.prefixes })
    .describe(description);
}

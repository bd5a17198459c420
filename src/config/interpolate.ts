// `${VAR}`, `${VAR:-default}` and `${file:/path}` in string values of the config, so secrets live in the environment
// or in mounted files rather than in the YAML. Interpolation works on parsed values, never on the YAML text, so a
// value cannot inject YAML structure.
import { readFileSync } from 'node:fs';

const REFERENCE = /\$\{([^}]*)\}/g;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export interface InterpolationProblem {
  path: string;
  message: string;
}

/**
 * Resolves the references in every string of `value`. With `env` null (check-config --no-env) they are left as
 * written and the key paths that hold them are added to `unresolved`, so their values are not judged.
 */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv | null,
  problems: InterpolationProblem[],
  path = '',
  unresolved: string[] = [],
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, problems, path, unresolved);
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, problems, `${path}[${i}]`, unresolved));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = interpolate(v, env, problems, path ? `${path}.${k}` : k, unresolved);
    return out;
  }
  return value;
}

function interpolateString(
  text: string,
  env: NodeJS.ProcessEnv | null,
  problems: InterpolationProblem[],
  path: string,
  unresolved: string[],
): string {
  return text.replace(REFERENCE, (whole, expr: string) => {
    const file = expr.startsWith('file:') ? expr.slice('file:'.length) : undefined;
    const variable = file === undefined ? VARIABLE.exec(expr) : undefined;
    if (file === undefined && !variable) {
      problems.push({ path, message: `invalid reference ${whole} (use \${VAR}, \${VAR:-default} or \${file:/path})` });
      return whole;
    }
    if (env === null) {
      if (unresolved.at(-1) !== path) unresolved.push(path);
      return whole;
    }
    if (file !== undefined) {
      try {
        // Secret files conventionally end with a newline that is not part of the secret.
        return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        problems.push({ path, message: `cannot read ${whole}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
        return whole;
      }
    }
    const [, name, fallback] = variable!;
    const v = env[name!];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    problems.push({ path, message: `environment variable ${name} is not set` });
    // Left as written: the value's own validation then has nothing more to say about it.
    return whole;
  });
}

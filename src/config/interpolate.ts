// `${VAR}`, `${VAR:-default}` and `${file:/path}` in string values of the config, so secrets live in the environment
// or in mounted files rather than in the YAML. Interpolation works on parsed values, never on the YAML text, so a
// value cannot inject YAML structure.
import { readFileSync } from 'node:fs';

const REFERENCE = /\$\{([^}]*)\}/g;

export interface InterpolationProblem {
  path: string;
  message: string;
}

export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: InterpolationProblem[],
  path = '',
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, problems, path);
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, problems, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, problems, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

function interpolateString(
  text: string,
  env: NodeJS.ProcessEnv,
  problems: InterpolationProblem[],
  path: string,
): string {
  return text.replace(REFERENCE, (whole, expr: string) => {
    if (expr.startsWith('file:')) {
      const file = expr.slice('file:'.length);
      try {
        // Secret files conventionally end with a newline that is not part of the secret.
        return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        problems.push({ path, message: `cannot read ${whole}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
        return whole;
      }
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(expr);
    if (!m) {
      problems.push({ path, message: `invalid reference ${whole} (use \${VAR}, \${VAR:-default} or \${file:/path})` });
      return whole;
    }
    const v = env[m[1]!];
    if (v !== undefined && v !== '') return v;
    if (m[2] !== undefined) return m[2];
    problems.push({ path, message: `environment variable ${m[1]} is not set` });
    // Left as written: the value's own validation then has nothing more to say about it.
    return whole;
  });
}

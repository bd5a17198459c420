// Finds inputs on which a regular expression takes time growing faster than the input: attack strings built from
// the pattern's own literals and the characters its classes accept, pumped to a length. Used by the linear-time
// test over every pattern Outrider applies to untrusted text, and by the bench that reports their cost at 1 MiB.

/** Characters that make backtracking engines retry: white space, separators, quotes, escapes, word characters. */
const PUMPS = [' ', '\t', '\n', '-', '_', 'a', 'A', '0', '"', "'", '\\', '=', ':', '/', '@', '.', ',', ';', '%', 'x'];

/** Runs of literal text in a pattern source (escapes resolved for the common ones), longest first. */
export function literalsOf(source: string): string[] {
  const words = new Set<string>();
  // Drop class contents and group syntax, then split on metacharacters.
  const stripped = source
    .replace(/\\[dDsSwWbB]/g, ' ')
    .replace(/\[(?:\\.|[^\]\\])*\]/g, ' ')
    .replace(/\(\?(?:<?[=!]|<[A-Za-z]\w*>|:)/g, ' ')
    .replace(/\{\d+(?:,\d*)?\}/g, ' ')
    .replace(/\\([^\w])/g, '$1')
    .replace(/\\[nrtf]/g, ' ');
  for (const part of stripped.split(/[()|*+?^$[\]{} ]+/)) {
    if (part.length === 0) continue;
    words.add(part);
    // A quantifier applies to the last character only: the word without it is a literal too.
    if (part.length > 1) words.add(part.slice(0, -1));
  }
  return [...words].sort((a, b) => b.length - a.length).slice(0, 12);
}

export interface AttackShape {
  /** What the attack is: a seed and the character pumped after it (JSON). */
  name: string;
  make: (length: number) => string;
}

/** The candidate attack shapes for a pattern: each builds a string of about the length asked. */
export function attackShapes(source: string): AttackShape[] {
  const seeds = ['', ...literalsOf(source)];
  const out: AttackShape[] = [];
  const fill = (unit: string) => (length: number) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
  for (const seed of seeds) {
    for (const pump of PUMPS) {
      out.push({
        name: JSON.stringify(`${seed}${pump.repeat(3)}…`),
        make: (n) => seed + pump.repeat(Math.max(0, n - seed.length)),
      });
      if (seed) out.push({ name: JSON.stringify(`(${seed}${pump})…`), make: fill(seed + pump) });
    }
    if (seed) out.push({ name: JSON.stringify(`(${seed})…`), make: fill(seed) });
  }
  // Seeds after one another (`--password` after a keyword, `-----BEGIN` … `PRIVATE KEY-----`).
  for (let i = 1; i < seeds.length; i++)
    for (let j = 1; j < seeds.length; j++)
      if (i !== j)
        out.push({ name: JSON.stringify(`(${seeds[i]} ${seeds[j]})…`), make: fill(`${seeds[i]} ${seeds[j]}`) });
  return out;
}

/** CPU milliseconds one call of `fn` takes on `text`: the best of `runs`, after one run to warm up when `warm` (V8
 * compiles a regular expression to native code after its first runs). */
export function timeOf(fn: (text: string) => unknown, text: string, runs = 3, warm = true): number {
  if (warm) fn(text);
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage();
    fn(text);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

/**
 * The attack shapes that cost `fn` the most at `probe` characters (a quadratic one costs ~`probe`× a linear one
 * there), to time at larger sizes.
 */
export function worstAttacks(source: string, fn: (text: string) => unknown, probe = 4000, keep = 3): AttackShape[] {
  const shapes = attackShapes(source);
  const scored = shapes.map((shape) => ({ shape, ms: timeOf(fn, shape.make(probe), 1, false) }));
  scored.sort((a, b) => b.ms - a.ms);
  return scored.slice(0, keep).map((s) => s.shape);
}

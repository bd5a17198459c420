// Finds inputs on which a regular expression takes time growing faster than the input: attack strings built from
// the pattern's own literals and the characters its classes accept, pumped to a length. Used by the linear-time
// test over every pattern Outrider applies to untrusted text (test/policy/linear-time.test.ts), and by the bench
// that reports their cost at 1 MiB (bench/patterns.ts); both collect the patterns here, in one place.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { PROGRAM_NAMES } from '../src/policy/command-line.ts';
import { LinearRegex } from '../src/policy/linear-regex.ts';
import { DEFAULT_REDACTION } from '../src/policy/redaction-config.ts';
import { BUILTIN_REDACTION_RULES, SECRET_FIELD_NAME, SECRET_FIELD_RAW_HINT } from '../src/policy/redaction-rules.ts';
import { Redactor } from '../src/policy/redactor.ts';

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

/** A pattern applied to untrusted text and the call that applies it. */
export interface PatternUnderTest {
  where: string;
  /** The pattern's source (its literals seed the attacks). */
  source: string;
  run: (text: string) => unknown;
  /** Length of the smaller of the two timed inputs (the larger is 10×). */
  small?: number;
}

/** Replaces every match, what a global pattern does to a text (a plain or sticky one only tests, which costs no
 * more than a search). */
export function replaceAll(re: RegExp): (text: string) => unknown {
  const global = new RegExp(re.source, `${re.flags.replace(/[gy]/g, '')}g`);
  return (text) => text.replace(global, '');
}

/** Every regular-expression literal under `src` (read with the TypeScript parser), and the number of `new RegExp(`
 * calls per file, which the test compares with the list of those it covers. */
export function sourcePatterns(src: string): { patterns: PatternUnderTest[]; dynamic: Record<string, number> } {
  const patterns: PatternUnderTest[] = [];
  const dynamic: Record<string, number> = {};
  const files = (readdirSync(src, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => f.endsWith('.ts'));
  for (const name of files) {
    const file = join(src, name);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
        const literal = node.getText();
        const slash = literal.lastIndexOf('/');
        const re = new RegExp(literal.slice(1, slash), literal.slice(slash + 1));
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        patterns.push({
          where: `${relative(src, file)}:${line} /${re.source}/`,
          source: re.source,
          run: replaceAll(re),
        });
      }
      if (ts.isNewExpression(node) && node.expression.getText() === 'RegExp') dynamic[name] = (dynamic[name] ?? 0) + 1;
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { patterns, dynamic };
}

/** The patterns built at run time: the built-in redaction rules, their raw conditions, the key-name patterns, the
 * redactor as a whole (keyword scans, rules in sequence, the program table) and config patterns on RE2. */
export function builtPatterns(): PatternUnderTest[] {
  const out: PatternUnderTest[] = [];
  for (const rule of BUILTIN_REDACTION_RULES) {
    out.push({ where: `${rule.name} pattern`, source: rule.pattern.source, run: replaceAll(rule.pattern) });
    out.push({ where: `${rule.name} raw condition`, source: rule.rawHint!.source, run: replaceAll(rule.rawHint!) });
    if (rule.hint) out.push({ where: `${rule.name} hint`, source: rule.hint.source, run: replaceAll(rule.hint) });
  }
  out.push({ where: 'secret field name', source: SECRET_FIELD_NAME.source, run: replaceAll(SECRET_FIELD_NAME) });
  out.push({
    where: 'secret field raw condition',
    source: SECRET_FIELD_RAW_HINT.source,
    run: replaceAll(SECRET_FIELD_RAW_HINT),
  });
  const redactor = new Redactor(DEFAULT_REDACTION);
  const every = BUILTIN_REDACTION_RULES.map((r) => `${r.pattern.source}|${r.rawHint!.source}`).join('|');
  out.push({ where: 'Redactor.redactText (every rule)', source: every, run: (t) => redactor.redactText(t) });
  out.push({
    where: 'Redactor.cleanByRaw (every raw condition)',
    source: every,
    run: (t) => redactor.cleanByRaw(t, []),
  });
  // The program table reads words: names of programs and their flags in a row.
  out.push({
    where: 'Redactor.redactText (program table)',
    source: PROGRAM_NAMES.join(' -p x '),
    run: (t) => redactor.redactText(t),
  });
  // From 100 KB to 1 MB: re2js runs inputs below some tens of KB on its bit-state backtracker (linear, a smaller
  // constant) and larger ones on its NFA, so 10 KB → 100 KB straddles that switch.
  for (const source of ['(a+)+$', '(?:\\s*)+x', '(?<=\\s*)y', '\\s+$', '(\\w+\\s?)+!']) {
    const re = new LinearRegex(source);
    out.push({ where: `config pattern on RE2 ${source}`, source, run: (t) => re.replaceAll(t, '*'), small: 100_000 });
  }
  return out;
}

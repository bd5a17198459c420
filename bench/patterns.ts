// What each pattern applied to untrusted text costs on the worst one-line input we can build for it, at 1 MiB
// (max_line_bytes' default): the attack shape that costs it most (bench/linearity.ts) made 1 MiB long, CPU time of
// one run. Reports every built pattern (rules, raw conditions, redactor, RE2) and the costliest source literals.
import { join } from 'node:path';
import { builtPatterns, type PatternUnderTest, sourcePatterns, timeOf, worstAttacks } from './linearity.ts';
import type { BenchResult, BenchSuite } from './types.ts';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const MIB = 1 << 20;

function worstAt1MiB(p: PatternUnderTest): { ms: number; shape: string } {
  let worst = { ms: 0, shape: '' };
  for (const shape of worstAttacks(p.source, p.run, 4000, 2)) {
    const ms = timeOf(p.run, shape.make(MIB), 1);
    if (ms > worst.ms) worst = { ms, shape: shape.name };
  }
  return worst;
}

export default async function suite(): Promise<BenchSuite> {
  return {
    suite: 'patterns',
    async run(): Promise<BenchResult[]> {
      const results: BenchResult[] = [];
      for (const p of builtPatterns()) {
        const { ms, shape } = worstAt1MiB(p);
        process.stderr.write(`${p.where}: ${ms.toFixed(1)} ms on ${shape}\n`);
        results.push({ name: `worst 1 MiB line: ${p.where}`, value: ms, unit: 'cpu-ms' });
      }
      const literals = sourcePatterns(SRC).patterns.map((p) => ({ p, ...worstAt1MiB(p) }));
      literals.sort((a, b) => b.ms - a.ms);
      for (const { p, ms, shape } of literals) process.stderr.write(`${p.where}: ${ms.toFixed(1)} ms on ${shape}\n`);
      for (const { p, ms } of literals.slice(0, 10))
        results.push({ name: `worst 1 MiB line: ${p.where}`, value: ms, unit: 'cpu-ms' });
      results.push({
        name: `worst 1 MiB line, every other of the ${literals.length} source literals at most`,
        value: literals[10]?.ms ?? 0,
        unit: 'cpu-ms',
      });
      return results;
    },
  };
}

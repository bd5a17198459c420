// Every benchmark suite `npm run bench` runs, in order. Adding a suite = its module + one line here.
import type { BenchSuite } from './types.ts';

export const SUITES: Array<() => Promise<BenchSuite>> = [
  () => import('./pipeline.ts').then((m) => m.default()),
  () => import('./normalise.ts').then((m) => m.default()),
  () => import('./enrichment.ts').then((m) => m.default()),
  () => import('./cri-enrichment.ts').then((m) => m.default()),
  () => import('./sinks.ts').then((m) => m.default()),
  () => import('./rules.ts').then((m) => m.default()),
  () => import('./patterns.ts').then((m) => m.default()),
  () => import('./ship.ts').then((m) => m.default()),
  () => import('./node.ts').then((m) => m.default()),
];

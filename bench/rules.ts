// Cost of policy rules: events/s through a rules transform with 0, 10 and 100 rules (realistic conditions that
// mostly do not match, so every rule is evaluated), and of the redaction every source's events go through, on the
// standard container-log mix (../shared/bench generator: JSON app logs, nginx and sshd lines).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '../src/core/envelope.ts';
import type { DecodedEvent } from '../src/formats/decoder.ts';
import { findFormat } from '../src/formats/index.ts';
import { DEFAULT_REDACTION } from '../src/policy/redaction-config.ts';
import { Redactor } from '../src/policy/redactor.ts';
import { rulesTransformSchema } from '../src/transforms/rules/config.ts';
import { RuleSet } from '../src/transforms/rules/engine.ts';
import type { BenchResult, BenchSuite } from './types.ts';

const GENERATOR = join(import.meta.dirname, '..', '..', '..', 'shared', 'bench', 'gen-docker-logs.mjs');
const EVENTS = 50_000;
const CONTAINER_ID = 'cd'.repeat(32);
const HOSTNAME = 'bench-host';
const PATH = join('/var/lib/docker/containers', CONTAINER_ID, `${CONTAINER_ID}-json.log`);
const ROUNDS = 4;

function decodedEvents(): DecodedEvent[] {
  const dir = mkdtempSync(join(tmpdir(), 'outrider-bench-rules-'));
  try {
    const file = join(dir, `${CONTAINER_ID}-json.log`);
    execFileSync(process.execPath, [GENERATOR, String(EVENTS), file, '--seed', '7']);
    const decoder = findFormat('docker-json')!.createDecoder({
      source: 'bench',
      hostname: HOSTNAME,
      path: PATH,
      onProblem: () => {},
    });
    const out: DecodedEvent[] = [];
    let offset = 0;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      decoder.push(line, { start: offset, flags: 0 }, out);
      offset += Buffer.byteLength(line) + 1;
    }
    decoder.flush(out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `n` rules of the kinds operators write, none matching the standard mix except the last (a route). */
function rules(n: number): RuleSet {
  const kinds = [
    (i: number) => ({ name: `class-${i}`, when: { field: 'class_uid', in: [2004, 1007 + i] }, labels: ['x'] }),
    (i: number) => ({
      name: `path-${i}`,
      when: { field: 'http_request.url.path', prefix: `/internal/${i}/` },
      action: 'drop',
    }),
    (i: number) => ({
      name: `image-${i}`,
      when: { field: 'device.container.image.name', regex: `^registry-${i}\\.` },
      action: 'drop',
    }),
    (i: number) => ({
      name: `sev-${i}`,
      when: { all: [{ field: 'severity_id', gte: 5 }, { not: { field: 'metadata.labels', equals: `l${i}` } }] },
      set_severity: 'High',
    }),
    (i: number) => ({
      name: `ns-${i}`,
      when: { field: 'device.container.tags[k8s.namespace.name]', equals: `ns-${i}` },
      route: ['siem'],
    }),
  ];
  const list = Array.from({ length: n }, (_, i) => kinds[i % kinds.length]!(i));
  if (n > 0) list[n - 1] = { name: 'archive', route: ['archive'] } as never;
  return new RuleSet(n === 0 ? [] : rulesTransformSchema.parse({ inputs: ['x'], rules: list }).rules);
}

function rate(events: readonly DecodedEvent[], apply: (e: Envelope, decoded: DecodedEvent) => void): number {
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const envelopes: Envelope[] = events.map((d) => ({ event: structuredClone(d.event), source: 'b', raw: d.raw }));
    const start = performance.now();
    for (let i = 0; i < envelopes.length; i++) apply(envelopes[i]!, events[i]!);
    best = Math.max(best, envelopes.length / ((performance.now() - start) / 1000));
  }
  return best;
}

export default async function suite(): Promise<BenchSuite> {
  return {
    suite: 'rules',
    async run(): Promise<BenchResult[]> {
      const events = decodedEvents();
      const results: BenchResult[] = [];
      for (const n of [0, 10, 100]) {
        const set = rules(n);
        results.push({
          name: `rules transform, ${n} rules`,
          value: rate(events, (e) => set.apply(e)),
          unit: 'events/s',
        });
      }
      const redactor = new Redactor(DEFAULT_REDACTION);
      results.push({
        name: 'redaction (built-in rules) on the container-log mix',
        value: rate(events, (e) => redactor.redactEnvelope(e)),
        unit: 'events/s',
      });
      // As container_logs applies it: a line is decided on its record where its mapper allows, walked otherwise.
      results.push({
        name: 'redaction as container_logs applies it (decided on the record, else walked)',
        // The decoded event (not the envelope's clone) holds the file's container object, shared as in the source.
        value: rate(events, (e, d) => {
          if (!redactor.clearsByRecord(d, PATH, HOSTNAME)) redactor.redactEnvelope(e);
        }),
        unit: 'events/s',
      });
      return results;
    },
  };
}

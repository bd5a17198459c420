// Lines per second through the security decoders (parse + map to OCSF, in process, no I/O), and the cost of
// content sniffing on container lines (the standard mix: 30% nginx access lines, 10% sshd lines).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DecodedEvent, LineDecoder } from '../src/formats/decoder.ts';
import { findFormat } from '../src/formats/index.ts';
import { decodeScanReport } from '../src/formats/scan-reports.ts';
import { ContainerLogDecoder } from '../src/sources/container_logs/decoder.ts';
import type { BenchResult, BenchSuite } from './types.ts';

/** ../shared/corpora beside the repository, found from bench/ or from the built dist/bench/. */
function findCorpora(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, '..', 'shared', 'corpora');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('../shared/corpora not found');
}
const CORPORA = findCorpora();
const LINES = 200_000;

function corpusLines(dir: string, ext: RegExp): string[] {
  const root = join(CORPORA, dir);
  const lines: string[] = [];
  for (const sub of readdirSync(root))
    for (const f of readdirSync(join(root, sub)).filter((n) => ext.test(n)))
      for (const l of readFileSync(join(root, sub, f), 'utf8').split('\n')) if (l.trim()) lines.push(l);
  return lines;
}

/** Corpus lines repeated to `n`, with audit serials / audit IDs made unique so grouping behaves as in production. */
function workload(lines: string[], n: number, unique: (line: string, i: number) => string): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = unique(lines[i % lines.length]!, Math.floor(i / lines.length));
  return out;
}

function measure(name: string, decoder: LineDecoder, lines: string[]): BenchResult {
  const out: DecodedEvent[] = [];
  const start = process.hrtime.bigint();
  let offset = 0;
  for (const line of lines) {
    decoder.push(line, { start: offset, flags: 0 }, out);
    offset += line.length + 1;
    if (out.length > 1000) out.length = 0;
  }
  decoder.flush(out);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { name, value: Math.round(lines.length / seconds), unit: 'lines/s' };
}

const ctx = { source: 'bench', hostname: 'bench-host', onProblem: () => {} };

/** One Trivy report of `n` vulnerabilities (the shared alpine report's, given distinct ids), decoded whole. */
function measureScanReport(n: number): BenchResult {
  const doc = JSON.parse(readFileSync(join(CORPORA, 'scan-reports', 'trivy-alpine-310.json'), 'utf8'));
  const entries = doc.Results[0].Vulnerabilities as Array<Record<string, unknown>>;
  doc.Results[0].Vulnerabilities = Array.from({ length: n }, (_v, i) => ({
    ...entries[i % entries.length],
    VulnerabilityID: `CVE-2099-${10000 + i}`,
  }));
  const text = JSON.stringify(doc, null, 2);
  const start = process.hrtime.bigint();
  const events = decodeScanReport(text, 'trivy', { ...ctx, modified: Date.now() });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    name: `Trivy report of ${n} vulnerabilities (${(text.length / 1e6).toFixed(1)} MB) → OCSF`,
    value: Math.round(events.length / seconds),
    unit: 'findings/s',
  };
}

export default async function (): Promise<BenchSuite> {
  return {
    suite: 'normalise',
    async run() {
      const results: BenchResult[] = [];
      const audit = workload(corpusLines('auditd', /\.log$/), LINES, (l, round) =>
        l.replace(/audit\((\d+\.\d+):(\d+)\)/, (_m, t, s) => `audit(${t}:${round}${s})`),
      );
      results.push(measure('auditd → OCSF', findFormat('auditd')!.createDecoder(ctx), audit));
      const k8s = workload(corpusLines('k8s-audit', /\.(json|log)$/), LINES, (l, round) =>
        l.replace(/"auditID":\s*"([^"]+)"/, `"auditID":"$1-${round}"`),
      );
      results.push(measure('k8s-audit → OCSF', findFormat('k8s-audit')!.createDecoder(ctx), k8s));
      const auth = workload(corpusLines('sshd-auth', /\.log$/), LINES, (l) => l);
      results.push(measure('syslog-auth → OCSF', findFormat('syslog-auth')!.createDecoder(ctx), auth));
      const web = workload(corpusLines('nginx-access', /\.log$/), LINES, (l) => l);
      results.push(measure('nginx → OCSF', findFormat('nginx')!.createDecoder(ctx), web));

      const nginxLines = corpusLines('nginx-access', /\.log$/).filter((l) => l.includes('] "'));
      const sshLines = corpusLines('sshd-auth', /\.log$/).map((l) => l.replace(/^.*?sshd\[\d+\]: /, ''));
      const container = new Array<string>(LINES);
      for (let i = 0; i < LINES; i++) {
        const k = i % 10;
        const text =
          k < 3
            ? nginxLines[i % nginxLines.length]!
            : k === 3
              ? sshLines[i % sshLines.length]!
              : `2026-11-23T10:00:00.000Z INFO request ${i} handled in 3ms user=u${i % 97}`;
        container[i] = JSON.stringify({ log: `${text}\n`, stream: 'stdout', time: '2026-11-23T10:00:00.123456789Z' });
      }
      const containerDecoder = (content: 'none' | 'auto') =>
        new ContainerLogDecoder('docker-json', ctx, {
          maxMessageBytes: 1 << 20,
          partialTimeout: 5000,
          container: { id: 'c'.repeat(64), name: 'bench' },
          content,
        });
      results.push(measure('container lines, content none (Base Events)', containerDecoder('none'), container));
      results.push(measure('container lines, content auto (30% nginx, 10% sshd)', containerDecoder('auto'), container));
      // The sniffing alone: the same plain lines with and without it.
      results.push(measureScanReport(10_000));
      const plain = container.filter((_l, i) => i % 10 >= 4);
      results.push(measure('plain container lines, content none', containerDecoder('none'), plain));
      results.push(
        measure('plain container lines, content auto (sniffed, none promoted)', containerDecoder('auto'), plain),
      );
      return results;
    },
  };
}

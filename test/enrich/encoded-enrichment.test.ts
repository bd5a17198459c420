// docker_metadata and cri_metadata on events that arrive encoded from decode workers swap the container's JSON in
// place instead of decoding the event: the result must be exactly what enriching the decoded event gives.
import { describe, expect, it } from 'vitest';
import { podLog, seededCriTransform } from '../../bench/cri-enrichment.ts';
import { containerId, seededTransform } from '../../bench/enrichment.ts';
import { EncodedEnvelope, type Envelope, encodeEvent, encodeNdjsonBuffers } from '../../src/core/envelope.ts';
import type { DecodedEvent } from '../../src/formats/decoder.ts';
import { createContainerDecoder, recordFormatOf } from '../../src/sources/container_logs/decoder.ts';
import { containerFromPath } from '../../src/sources/container_logs/path-meta.ts';

// Containers of the benchmark's seeded cache: json-file ids without Kubernetes labels (name /checkout-<i>).
const PLAIN = containerId(1);
const POD = containerId(2);

/** The events of `lines` as a container-log decoder builds them for a file at `path`. */
function decode(path: string, lines: string[]): DecodedEvent[] {
  const ctx = { source: 'logs', hostname: 'test-host', path, onProblem: () => undefined };
  const decoder = createContainerDecoder(
    { format: 'auto', max_line_bytes: 1 << 20, partial_timeout: 5000, content: 'auto', raw_data: 'when_lossy' },
    ctx,
    recordFormatOf(lines[0]!),
  );
  const out: DecodedEvent[] = [];
  for (const [i, line] of lines.entries()) decoder.push(line, { start: i * 1000, flags: 0 }, out);
  return out;
}

const record = (log: string) => JSON.stringify({ log: `${log}\n`, stream: 'stdout', time: '2026-11-23T00:00:00.5Z' });
const LINES = [
  record('{"level":"info","msg":"ready","user":"bob"}'),
  record('203.0.113.7 - - [23/Nov/2026:00:00:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl/8.5.0"'),
  record('plain text line with "quotes" and ünïcode'),
  record('Nov 23 00:00:01 host sshd[42]: Accepted publickey for bob from 10.0.0.2 port 5555 ssh2'),
];

describe('docker_metadata on encoded events', () => {
  for (const [name, path] of [
    ['a docker json-file log', `/var/lib/docker/containers/${PLAIN}/${PLAIN}-json.log`],
    ['a kubelet container log (pod identity merged from the path)', `/var/log/containers/app-7d9f_shop_app-${POD}.log`],
  ] as const)
    it(`gives the same JSON as enriching the decoded event: ${name}`, async () => {
      const cri = path.startsWith('/var/log/containers/');
      const lines = cri
        ? LINES.map((l) => {
            const r = JSON.parse(l) as { log: string };
            return `2026-11-23T00:00:00.5Z stdout F ${r.log.slice(0, -1)}`;
          })
        : LINES;
      const ref = containerFromPath(path)!;
      const decodedA = decode(path, lines);
      const decodedB = decode(path, lines);
      const plain: Envelope[] = decodedA.map((d) => ({ event: d.event, source: 'logs', raw: d.raw, container: ref }));
      const encoded = decodedB.map(
        (d) =>
          new EncodedEnvelope(
            'logs',
            Buffer.from(`${encodeEvent({ event: d.event, source: 'logs', raw: d.raw })}\n`),
            ref,
          ),
      );
      const t = seededTransform(false);
      await t.process(plain);
      await t.process(encoded);
      // The swap happened without decoding: the bytes are still there.
      for (const e of encoded) expect(e.line).toBeDefined();
      for (let i = 0; i < plain.length; i++) {
        expect(JSON.parse(encoded[i]!.encoded!)).toEqual(JSON.parse(encodeEvent(plain[i]!)));
        expect(encoded[i]!.container).toEqual(plain[i]!.container);
      }
      const container = (JSON.parse(encoded[0]!.encoded!) as { device: { container: { name?: string } } }).device
        .container;
      expect(container.name).toBe(cri ? 'checkout-2' : 'checkout-1');
    });
});

describe('cri_metadata on encoded events', () => {
  it('gives the same JSON as enriching the decoded events, and writes a batch of swapped events without a copy each', async () => {
    const path = podLog('/var/log/pods', 3);
    const lines = LINES.map((l) => {
      const r = JSON.parse(l) as { log: string };
      return `2026-11-23T00:00:00.5Z stdout F ${r.log.slice(0, -1)}`;
    });
    const ref = containerFromPath(path);
    const plain: Envelope[] = decode(path, lines).map((d) => ({
      event: d.event,
      source: 'logs',
      raw: d.raw,
      container: ref,
    }));
    // One worker batch: every event's line is a span of the same bytes.
    const decoded = decode(path, lines);
    const batch = Buffer.from(
      decoded.map((d) => `${encodeEvent({ event: d.event, source: 'logs', raw: d.raw })}\n`).join(''),
    );
    let from = 0;
    const encoded = decoded.map(() => {
      const end = batch.indexOf(10, from) + 1;
      const e = new EncodedEnvelope('logs', batch, ref, from, end);
      from = end;
      return e;
    });
    const t = seededCriTransform();
    await t.process(plain);
    await t.process(encoded);
    const want = plain.map((e) => `${encodeEvent(e)}\n`).join('');
    // Written as the batch's bytes around each swapped-in container: the same text as enriching decoded events.
    const written = Buffer.concat(encodeNdjsonBuffers(encoded)).toString('utf8');
    expect(written.split('\n').map((l) => (l ? JSON.parse(l) : l))).toEqual(
      want.split('\n').map((l) => (l ? JSON.parse(l) : l)),
    );
    for (const [i, e] of encoded.entries()) {
      expect(e.lineLength).toBe(Buffer.byteLength(`${encodeEvent(plain[i]!)}`) + 1);
      expect(JSON.parse(e.encoded!)).toEqual(JSON.parse(encodeEvent(plain[i]!)));
      expect(e.container).toEqual(plain[i]!.container);
    }
    const container = (JSON.parse(encoded[0]!.encoded!) as { device: { container: Record<string, unknown> } }).device
      .container;
    expect(container).toMatchObject({
      uid: containerId(3),
      name: 'checkout',
      runtime: 'cri',
      pod_uuid: expect.any(String),
    });
  });
});

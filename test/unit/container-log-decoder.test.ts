import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DecodedEvent, LineFlags } from '../../src/formats/decoder.ts';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { ContainerLogDecoder, parseCri, parseDockerJson } from '../../src/sources/container_logs/decoder.ts';
import { CORPORA, recordOutput, validateOcsf } from '../support/output.ts';

const ctx = (path?: string) => {
  const problems: string[] = [];
  return {
    problems,
    ctx: { source: 't', hostname: 'host-a', ...(path ? { path } : {}), onProblem: (r: string) => problems.push(r) },
  };
};

function decodeAll(
  format: 'docker-json' | 'cri',
  lines: string[],
  options: Partial<ConstructorParameters<typeof ContainerLogDecoder>[2]> = {},
  path?: string,
) {
  const { ctx: c, problems } = ctx(path);
  const d = new ContainerLogDecoder(format, c, { maxMessageBytes: 1024 * 1024, partialTimeout: 5000, ...options });
  const out: DecodedEvent[] = [];
  let offset = 0;
  for (const l of lines) {
    d.push(l, { start: offset, flags: LineFlags.None }, out);
    offset += Buffer.byteLength(l) + 1;
  }
  const held = d.heldFrom();
  d.flush(out);
  return { out, problems, held };
}

/** A json-file record as the event holds it: log from the message (a JSON line from its fields and message), stream
 * from the log name, time from the original time text. */
function rebuildDockerRecord(event: OcsfEvent): Record<string, unknown> {
  const unmapped = event.unmapped as { fields?: Record<string, unknown>; message_key?: string } | undefined;
  const log = unmapped?.fields
    ? { ...unmapped.fields, [unmapped.message_key ?? 'msg']: event.message }
    : `${event.message}\n`;
  return { log, stream: event.metadata.log_name, time: event.metadata.original_time };
}

describe('docker json-file records', () => {
  it('parses a record and strips the newline', () => {
    const r = parseDockerJson('{"log":"hello\\n","stream":"stderr","time":"2026-11-23T10:00:00.123456789Z"}');
    expect(r).toMatchObject({
      text: 'hello',
      final: true,
      stream: 'stderr',
      time: Date.UTC(2026, 10, 23, 10, 0, 0, 123),
    });
  });

  it('reassembles lines Docker split at 16 KiB into one event, holding the cursor at the first part', () => {
    const big = 'x'.repeat(40 * 1024);
    const parts = [big.slice(0, 16384), big.slice(16384, 32768), `${big.slice(32768)}\n`];
    const lines = parts.map((p) => JSON.stringify({ log: p, stream: 'stdout', time: '2026-11-23T10:00:00Z' }));
    const { ctx: c } = ctx();
    const d = new ContainerLogDecoder('docker-json', c, { maxMessageBytes: 1024 * 1024, partialTimeout: 5000 });
    const out: DecodedEvent[] = [];
    d.push(lines[0]!, { start: 100, flags: 0 }, out);
    d.push(lines[1]!, { start: 200, flags: 0 }, out);
    expect(out).toHaveLength(0);
    expect(d.heldFrom()).toBe(100);
    d.push(lines[2]!, { start: 300, flags: 0 }, out);
    expect(out).toHaveLength(1);
    expect(out[0]!.event.message).toBe(big);
    expect(d.heldFrom()).toBeUndefined();
  });

  it('cuts a message over max_line_bytes and flags it with its original size', () => {
    const lines = ['a'.repeat(1000), 'b'.repeat(1000), 'c'.repeat(10)].map((t, i, all) =>
      JSON.stringify({ log: i === all.length - 1 ? `${t}\n` : t, stream: 'stdout', time: '2026-11-23T10:00:00Z' }),
    );
    const { out, problems } = decodeAll('docker-json', lines, { maxMessageBytes: 1500 });
    expect(out).toHaveLength(1);
    expect(out[0]!.event.message).toHaveLength(1500);
    expect(out[0]!.event.metadata.is_truncated).toBe(true);
    expect(out[0]!.event.metadata.untruncated_size).toBe(2010);
    expect(problems).toContain('line_too_long');
  });

  it('keeps malformed records raw, flagged and counted', () => {
    const { out, problems } = decodeAll('docker-json', [
      '{"log":"ok\\n","stream":"stdout","time":"2026-11-23T10:00:00Z"}',
      '{not json',
      '\u0000\u0001binary',
    ]);
    expect(out).toHaveLength(3);
    expect(out[1]!.event.raw_data).toBe('{not json');
    expect((out[1]!.event.unmapped as { outrider_problems: string[] }).outrider_problems[0]).toMatch(
      /malformed docker json-file record/,
    );
    expect(problems).toEqual(['malformed_record', 'malformed_record']);
  });

  it("takes a JSON application line's message from its own message field, keeps the rest once, and no raw_data", () => {
    const record = {
      log: '{"level":"error","msg":"boom","user":"alice","n":2}\n',
      stream: 'stderr',
      time: '2026-11-23T10:00:00.123456789Z',
    };
    const { out } = decodeAll('docker-json', [JSON.stringify(record)]);
    const event = out[0]!.event;
    expect(event.message).toBe('boom');
    expect(event.unmapped).toEqual({ fields: { level: 'error', user: 'alice', n: 2 } });
    expect(event.raw_data).toBeUndefined();
    expect(event.severity_id).toBe(3);
    // Nothing lost: the record comes back from the event (JSON values; key order aside).
    expect(rebuildDockerRecord(event)).toEqual({ ...record, log: JSON.parse(record.log.slice(0, -1)) });
  });

  it('names the message key when it is not msg, so the application line still comes back', () => {
    const record = { log: '{"message":"started","port":8080}\n', stream: 'stdout', time: '2026-11-23T10:00:00Z' };
    const event = decodeAll('docker-json', [JSON.stringify(record)]).out[0]!.event;
    expect(event.message).toBe('started');
    expect(event.unmapped).toEqual({ message_key: 'message', fields: { port: 8080 } });
    expect(rebuildDockerRecord(event)).toEqual({ ...record, log: JSON.parse(record.log.slice(0, -1)) });
  });

  it('leaves raw_data out of a plain line that message, stream and time rebuild', () => {
    const record = { log: 'GET /health 200\n', stream: 'stdout', time: '2026-11-23T10:00:00.5Z' };
    const event = decodeAll('docker-json', [JSON.stringify(record)]).out[0]!.event;
    expect(event.message).toBe('GET /health 200');
    expect(event.unmapped).toBeUndefined();
    expect(event.raw_data).toBeUndefined();
    expect(rebuildDockerRecord(event)).toEqual(record);
  });

  it('keeps raw_data where the event would lose something of the record', () => {
    const lossy = [
      // Docker's log-opt labels come as a fourth key.
      '{"log":"hi\\n","stream":"stdout","attrs":{"tag":"web"},"time":"2026-11-23T10:00:00Z"}',
      // A number beyond double precision, a duplicate key, spacing of its own: JSON does not re-encode to the line.
      JSON.stringify({
        log: '{"msg":"x","id":12345678901234567890}\n',
        stream: 'stdout',
        time: '2026-11-23T10:00:00Z',
      }),
      JSON.stringify({ log: '{"msg":"x","a":1,"a":2}\n', stream: 'stdout', time: '2026-11-23T10:00:00Z' }),
      JSON.stringify({ log: '{"msg": "x"}\n', stream: 'stdout', time: '2026-11-23T10:00:00Z' }),
      // CRLF line ends, a record without its time.
      JSON.stringify({ log: 'dos\r\n', stream: 'stdout', time: '2026-11-23T10:00:00Z' }),
      JSON.stringify({ log: 'no time\n', stream: 'stdout' }),
    ];
    const { out } = decodeAll('docker-json', lossy);
    expect(out.map((d) => d.event.raw_data)).toEqual(lossy);
  });

  it('raw_data: always keeps every record, never none (a malformed line keeps its text in message)', () => {
    const good = JSON.stringify({ log: 'fine\n', stream: 'stdout', time: '2026-11-23T10:00:00Z' });
    expect(decodeAll('docker-json', [good], { rawData: 'always' }).out[0]!.event.raw_data).toBe(good);
    const { out } = decodeAll('docker-json', [good, '{broken'], { rawData: 'never' });
    expect(out.map((d) => d.event.raw_data)).toEqual([undefined, undefined]);
    expect(out[1]!.event.message).toBe('{broken');
  });

  it('leaves raw_data out of a bare sshd line (message and the record time it took), keeps it for an access line', () => {
    const sshd = {
      log: 'Failed password for invalid user alice from 192.0.2.44 port 50341 ssh2\n',
      stream: 'stdout',
      time: '2026-11-23T10:00:00.015000012Z',
    };
    const access = JSON.stringify({
      log: '203.0.113.7 - - [23/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.5.0"\n',
      stream: 'stdout',
      time: '2026-11-23T10:00:00.005Z',
    });
    const { out } = decodeAll('docker-json', [JSON.stringify(sshd), access], { content: 'auto' });
    const [auth, http] = out.map((d) => d.event);
    expect(auth!.class_uid).toBe(3002);
    expect(auth!.raw_data).toBeUndefined();
    expect(auth!.unmapped).toMatchObject({ stream: 'stdout' });
    expect({ log: `${auth!.message}\n`, stream: 'stdout', time: auth!.metadata.original_time }).toEqual(sshd);
    expect(http!.class_uid).toBe(4002);
    expect(http!.raw_data).toBe(access);
  });

  it('joins stack traces when multiline is configured', () => {
    const text = [
      'Exception in thread "main" java.lang.IllegalStateException: boom',
      '\tat com.example.App.run(App.java:10)',
      '\tat com.example.App.main(App.java:3)',
      'next line',
    ];
    const lines = text.map((t) => JSON.stringify({ log: `${t}\n`, stream: 'stderr', time: '2026-11-23T10:00:00Z' }));
    const { out } = decodeAll('docker-json', lines, {
      multiline: { mode: 'continue_through', condition_pattern: '^\\s+at ', timeout: 1000, max_lines: 100 },
    });
    expect(out.map((e) => e.event.message)).toEqual([text.slice(0, 3).join('\n'), 'next line']);
    // The joined group keeps its three records; the line that stayed alone is its own record again.
    expect(out.map((e) => e.event.raw_data)).toEqual([lines.slice(0, 3).join('\n'), undefined]);
  });

  it('normalises the public json-file corpora into valid OCSF', () => {
    const dir = join(CORPORA, 'docker-json-file');
    const events: unknown[] = [];
    for (const sub of readdirSync(dir)) {
      for (const f of readdirSync(join(dir, sub)).filter((n) => n.endsWith('.log'))) {
        const lines = readFileSync(join(dir, sub, f), 'utf8')
          .split('\n')
          .filter(Boolean);
        events.push(...decodeAll('docker-json', lines, {}, join(dir, sub, f)).out.map((e) => e.event));
      }
    }
    expect(events.length).toBeGreaterThan(30);
    const result = validateOcsf(recordOutput('unit/docker-json-corpora', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('CRI records', () => {
  it('parses P and F tags', () => {
    expect(parseCri('2026-11-23T10:00:00.5Z stdout P part')).toMatchObject({
      final: false,
      text: 'part',
      stream: 'stdout',
    });
    expect(parseCri('2026-11-23T10:00:00.5Z stderr F:x end')).toMatchObject({
      final: true,
      text: 'end',
      stream: 'stderr',
    });
    expect(parseCri('garbage')).toBeTypeOf('string');
  });

  it('leaves raw_data out of a whole F line, keeps it for joined partials and tag attributes', () => {
    const lines = [
      '2026-11-23T10:00:00.5Z stdout F whole line',
      '2026-11-23T10:00:01.5Z stdout P first ',
      '2026-11-23T10:00:01.6Z stdout F half',
      '2026-11-23T10:00:02.5Z stderr F:x attributed',
    ];
    const { out } = decodeAll('cri', lines);
    expect(out.map((d) => d.event.raw_data)).toEqual([undefined, `${lines[1]}\n${lines[2]}`, lines[3]]);
    const whole = out[0]!.event;
    expect(`${whole.metadata.original_time} ${whole.metadata.log_name} F ${whole.message}`).toBe(lines[0]);
  });

  it('reassembles the conmon capture and takes Kubernetes identity from the pod log path', () => {
    const base = join(CORPORA, 'cri', 'local-conmon-capture');
    const rel = 'var/log/pods/warehouse_inventory-5d9c7b8f6-q8w2n_9b2f4c1e-8a7d-4e3b-b5c6-1d2e3f4a5b6c/inventory/0.log';
    const path = join(base, rel);
    const lines = readFileSync(path, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    const { out } = decodeAll(
      'cri',
      lines,
      {
        container: {
          runtime: 'cri',
          k8s: {
            namespace: 'warehouse',
            pod: 'inventory-5d9c7b8f6-q8w2n',
            podUid: '9b2f4c1e-8a7d-4e3b-b5c6-1d2e3f4a5b6c',
            container: 'inventory',
          },
        },
      },
      `/${rel}`,
    );
    const messages = out.map((e) => e.event.message);
    expect(messages).toContain('z'.repeat(20000));
    expect(messages).toContain('unicode: Grüße, 東京, emoji 🔒');
    expect(messages.at(-1)).toBe('shutting down (no trailing newline)');
    const container = (out[0]!.event.device as { container: Record<string, unknown> }).container;
    expect(container).toMatchObject({
      name: 'inventory',
      orchestrator: 'Kubernetes',
      pod_uuid: '9b2f4c1e-8a7d-4e3b-b5c6-1d2e3f4a5b6c',
    });
    expect(container.tags).toContainEqual({ name: 'k8s.namespace.name', value: 'warehouse' });
    const result = validateOcsf(
      recordOutput(
        'unit/cri-corpora',
        out.map((e) => e.event),
      ),
    );
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

// Secrets never leave in clear: every built-in rule on its own, then a corpus of secrets in every input family
// through `outrider normalise` and through the real pipeline (tail → OCSF → file sink and http sink), searching
// the outputs for the secret values.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { normalise } from '../../src/cli/normalise.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { DecodedEvent } from '../../src/formats/decoder.ts';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { DEFAULT_REDACTION, redactionSchema } from '../../src/policy/redaction-config.ts';
import { BUILTIN_REDACTION_RULES, MASK } from '../../src/policy/redaction-rules.ts';
import { keywordAlternation, Redactor } from '../../src/policy/redactor.ts';
import { factoryTypes, findFactory } from '../../src/registry.ts';
import { createContainerDecoder } from '../../src/sources/container_logs/decoder.ts';
import { CORPORA, recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { containerJsonLines, containerMessages, FORBIDDEN, SECURITY_INPUTS } from './secrets-corpus.ts';

const running: TestOutrider[] = [];
afterEach(async () => {
  for (const o of running.splice(0)) await o.stop();
});

function leaked(text: string): string[] {
  return FORBIDDEN.filter((s) => text.includes(s));
}

function redactString(text: string, redactor = new Redactor(DEFAULT_REDACTION)): string {
  return redactor.redactText(text);
}

describe('built-in redaction rules', () => {
  const cases: Array<[string, string, string]> = [
    ['mysql -u root -pS3cret db', 'S3cret', 'mysql -u root -p*** db'],
    ['mysqldump -pS3cret --all', 'S3cret', 'mysqldump -p*** --all'],
    ['app --password=hunter2 --port 1', 'hunter2', 'app --password=*** --port 1'],
    ['app --db-password hunter2', 'hunter2', 'app --db-password ***'],
    ['curl -u user:pa55 http://x', 'pa55', 'curl -u user:*** http://x'],
    ['redis://default:pa55word@cache:6379', 'pa55word', 'redis://default:***@cache:6379'],
    ['Authorization: Basic dXNlcjpwYXNz', 'dXNlcjpwYXNz', 'Authorization: ***'],
    ['sent Bearer abc.def-ghi to upstream', 'abc.def-ghi', 'sent Bearer *** to upstream'],
    ['key AKIAIOSFODNN7EXAMPLE used', 'AKIAIOSFODNN7EXAMPLE', 'key *** used'],
    ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI', 'AWS_SECRET_ACCESS_KEY=***'],
    ['k=AIzaSyA1234567890abcdefghijklmnopqrstuv', 'AIzaSy', 'k=***'],
    ['"private_key_id": "0123456789abcdef0123456789abcdef01234567"', '0123456789abcdef', '"private_key_id": "***"'],
    ['AccountName=a;AccountKey=Zm9v==;Suffix=x', 'Zm9v', 'AccountName=a;AccountKey=***;Suffix=x'],
    [
      'https://a.blob.core.windows.net/c?sv=2020&sig=abc%2Fdef&se=1',
      'abc%2Fdef',
      'https://a.blob.core.windows.net/c?sv=2020&sig=***&se=1',
    ],
    ['-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY----- done', 'MIIsecret', '*** done'],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature ok', 'eyJzdWIiOiIxIn0', 'jwt *** ok'],
    ['{"password":"p4ss","user":"bob"}', 'p4ss', '{"password":"***","user":"bob"}'],
    ['GET /x?access_token=tok123&page=2', 'tok123', 'GET /x?access_token=***&page=2'],
  ];
  it.each(cases)('%s', (input, secret, expected) => {
    const out = redactString(input);
    expect(out).not.toContain(secret);
    expect(out).toBe(expected);
  });

  it('leaves ordinary text alone (no false positives on common log lines)', () => {
    for (const text of [
      'Failed password for invalid user admin from 10.0.0.1 port 22 ssh2',
      'sudo: bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls',
      'GET /index.html?page=2 HTTP/1.1',
      'mysql -h db -P 3306 -u app',
      'took=123456789 ms status=ok',
      'authorization.k8s.io/decision',
    ])
      expect(redactString(text)).toBe(text);
  });

  it('finds keywords with the trie-shaped scan exactly where a plain alternation of them does', () => {
    const words = [...new Set([...BUILTIN_REDACTION_RULES.flatMap((r) => r.keywords), 'cookie'])];
    const asLiteral = (w: string) => w.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const plain = new RegExp(words.map(asLiteral).join('|'), 'gi');
    const trie = new RegExp(keywordAlternation(words), 'gi');
    const starts = (re: RegExp, text: string) => {
      const at: number[] = [];
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        at.push(m.index);
        re.lastIndex = m.index + 1;
      }
      return at;
    };
    // Real inputs, every keyword in mixed case glued to its neighbours and cut short, and pseudo-random text.
    const texts = [
      ...SECURITY_INPUTS.flatMap((i) => i.text().split('\n')),
      ...containerJsonLines().split('\n'),
      ...words.flatMap((w) => [
        `x${w.toUpperCase()}${w}y`,
        w.slice(0, -1),
        `${w.slice(0, 1).toUpperCase()}${w.slice(1)}${words.join('')}`,
      ]),
    ];
    let seed = 42;
    // Pseudo-random texts of keywords, their beginnings and ends in either case, and separators.
    const pieces = [...words.flatMap((w) => [w, w.toUpperCase(), w.slice(0, 2), w.slice(1)]), ...'AbC-_=:/ "\\'];
    for (let i = 0; i < 2000; i++) {
      let t = '';
      for (let j = 0; j < 12; j++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        t += pieces[seed % pieces.length];
      }
      texts.push(t);
    }
    let found = 0;
    for (const text of texts) {
      expect(starts(trie, text)).toEqual(starts(plain, text));
      found += starts(plain, text).length;
    }
    expect(found).toBeGreaterThan(5000);
  });

  // The shortcut of DecodedEvent.fromRaw: a record that fails every rule's raw condition is cleared without walking
  // its event. Sound only if walking that event would have masked nothing, whatever the escaping of the record.
  const clearedByRaw = () => {
    const redactor = new Redactor(DEFAULT_REDACTION);
    const path = `/var/lib/docker/containers/${'ab'.repeat(32)}/${'ab'.repeat(32)}-json.log`;
    const decoders = (['docker-json', 'cri'] as const).map((format) =>
      createContainerDecoder(
        { format, max_line_bytes: 1 << 20, partial_timeout: 5000, content: 'auto', raw_data: 'when_lossy' },
        { source: 't', hostname: 'host-1', path, onProblem: () => undefined },
        format,
      ),
    );
    /** Whether the record was cleared by its raw text as the pipeline decides; throws when it (or its record alone)
     * was but a walk masks something. */
    return (raw: string): boolean => {
      const out: DecodedEvent[] = [];
      decoders[raw.startsWith('{') ? 0 : 1]!.push(raw, { start: 0, flags: 0 }, out);
      expect(out).toHaveLength(1);
      const d = out[0]!;
      const cleared = redactor.clearsByRecord(d, path, 'host-1');
      // Also without scanning the strings the mapper composed: today's mappers compose none that could spell a
      // secret, so the record alone already decides soundly.
      const container = (d.event.device as { container?: unknown }).container;
      const byRecordAlone = d.fromRaw !== undefined && redactor.cleanByRaw(d.raw, [path, 'host-1', container]);
      if (!cleared && !byRecordAlone) return false;
      const before = structuredClone(d.event);
      expect(redactor.redactEnvelope({ event: d.event, source: 't', raw: d.raw }), raw).toEqual([]);
      expect(d.event).toEqual(before);
      return cleared;
    };
  };
  const TIME = '2026-11-23T00:00:00Z';
  /** A message as the records that carry it: CRI (as it is), json-file (escaped once), and inside a JSON app log
   * (escaped twice) as a value and as a key. */
  const records = (message: string): string[] => [
    ...(message.includes('\n') ? [] : [`${TIME} stdout F ${message}`]),
    JSON.stringify({ log: `${message}\n`, stream: 'stdout', time: TIME }),
    JSON.stringify({ log: `${JSON.stringify({ level: 'info', msg: message })}\n`, stream: 'stdout', time: TIME }),
    JSON.stringify({ log: `${JSON.stringify({ [message]: 'v4lue' })}\n`, stream: 'stdout', time: TIME }),
  ];

  it('clears a plain container line by its raw record only when walking the event would mask nothing', () => {
    const cleared = clearedByRaw();
    const raws = [
      ...containerMessages.flatMap(records),
      ...cases.flatMap(([input]) => records(input)),
      ...records('{"level":"info","Cookie":"sess=abc123","x-api-key":"k1"}'),
      ...records('{"set-cookie":"id=42; HttpOnly"}'),
      ...records('connecting to postgres://app:p4ss@db:5432'),
      // White space and quotes a rule needs, which records hold escaped.
      ...records('run curl\t-u admin:pa55 http://x'),
      ...records('Authorization:\tBearer\nabc123'),
      ...records('{"token" : "abc123"}'),
      ...records("{'password':\t'hunter2'}"),
      ...records('app --password\thunter2'),
      ...records('mysql\t-pS3cret'),
      // Escapes that spell a keyword only once unescaped.
      '{"log":"\\u0070assword=hunter2\\n","stream":"stdout","time":"2026-11-23T00:00:00Z"}',
      '{"log":"postgres:\\/\\/app:p4ss@db\\n","stream":"stdout","time":"2026-11-23T00:00:00Z"}',
      '{"log":"{\\"\\\\u0074oken\\":\\"abc123\\"}\\n","stream":"stdout","time":"2026-11-23T00:00:00Z"}',
    ];
    for (const raw of raws) expect(cleared(raw), raw).toBe(false);
    // Lines that only mention a keyword are cleared, as plain lines are.
    for (const message of [
      '{"level":"info","msg":"request handled","user":"bob","path":"/login"}',
      '{"level":"info","msg":"token refreshed","user":"bob"}',
      '{"level":"info","msg":"payment authorised","request_id":"req-1"}',
      'plain text, nothing to hide',
      'Failed password for invalid user admin from 10.0.0.1 port 22 ssh2',
      'Accepted publickey for carol from 10.0.0.7 port 50022 ssh2: RSA SHA256:abcdefghijklmnop',
      '203.0.113.7 - - [23/Nov/2026:00:00:00 +0000] "GET /api/v1/orders HTTP/1.1" 200 1576 "-" "curl/8.5.0"',
    ])
      for (const raw of records(message).slice(0, 3)) expect(cleared(raw), raw).toBe(true);
  });

  it('has raw conditions written for lower-cased records (cleanByRaw tests them on one)', () => {
    for (const rule of BUILTIN_REDACTION_RULES) {
      expect(rule.rawHint!.flags, rule.name).toBe('');
      expect(rule.rawHint!.source.replace(/\\./g, ''), rule.name).not.toMatch(/[A-Z]/);
    }
  });

  it('does not clear a record when a string its mapper composed could hold a secret', () => {
    const redactor = new Redactor(DEFAULT_REDACTION);
    const raw = JSON.stringify({ log: 'Received disconnect from 10.0.0.1 port 22:11: bye\n', stream: 'stdout' });
    expect(redactor.cleanByRaw(raw, ['host-1'], ['11: bye'])).toBe(true);
    expect(redactor.cleanByRaw(raw, ['host-1'], ['token: bye'])).toBe(false);
    expect(redactor.cleanByRaw(raw, ['host-1'], ['Failed password for invalid user'])).toBe(true);
  });

  it('clears by the raw record soundly on pseudo-random texts of keywords, quotes, escapes and separators', () => {
    const cleared = clearedByRaw();
    const pieces = [
      ...BUILTIN_REDACTION_RULES.flatMap((r) => r.keywords),
      ...['password', 'Token', 'api_key', 'credentials', 'Authorization', 'Bearer', 'cookie', 'curl', 'mysql'],
      ...['-u', '--user', '-p', '--', 'a1=', 'AKIA', 'EXAMPLEKEY123456', 'eyJhbGciOi', '.', '@', '://', 'sig='],
      ...['proctitle=', '6D7973716C202D7053', 'x', 'bob', '42', ' ', ' ', '\t', '\n', '"', "'", '\\', ':', '=', '-'],
      ...[
        'sshpass',
        'redis-cli',
        '/usr/bin/htpasswd',
        'docker',
        'login',
        'vault',
        '-a',
        '-w',
        '-b',
        'pass:',
        '%',
        '//',
      ],
    ];
    let seed = 7;
    let clearedCount = 0;
    for (let i = 0; i < 3000; i++) {
      let text = '';
      for (let j = 0; j < 10; j++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        text += pieces[seed % pieces.length];
      }
      for (const raw of records(text)) if (cleared(raw)) clearedCount++;
    }
    // Not vacuous: many records are cleared (and each of them was walked to check).
    expect(clearedCount).toBeGreaterThan(1000);

    // Security mappers (sshd, nginx) put parts of a line in many fields and compose some strings of several parts:
    // real lines with words replaced by the same pseudo-random texts.
    const seeds = [
      'Failed password for invalid user admin from 10.0.0.1 port 22 ssh2',
      'Accepted publickey for carol from 10.0.0.7 port 50022 ssh2: RSA SHA256:abcdefghijklmnop',
      'Nov 23 10:00:00 web-1 sshd[812]: Connection closed by authenticating user root 10.0.0.9 port 4022 [preauth]',
      'Nov 23 10:00:00 web-1 sshd[812]: User bob from 10.0.0.2 not allowed because not listed in AllowUsers',
      'Nov 23 10:00:00 web-1 sshd[812]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.3  user=root',
      'Nov 23 10:00:00 web-1 sudo: bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls -l',
      '203.0.113.7 - bob [23/Nov/2026:00:00:00 +0000] "GET /api/v1/orders?page=2 HTTP/1.1" 200 1576 "-" "curl/8.5.0"',
      'shop.example "10.0.0.1, 10.0.0.2" - - [23/Nov/2026:00:00:00 +0000] "CONNECT api.example:443 HTTP/1.1" 200 0 "-" "-"',
      '2026/11/23 10:00:00 [error] 7#7: *1 open() "/x" failed, client: 10.0.0.1, server: shop, request: "GET /x HTTP/1.1"',
      '{"time_local":"23/Nov/2026:00:00:00 +0000", "remote_user":"bob", "request":"GET /x?a=1 HTTP/1.1", "status":200, "http_user_agent":"curl/8.5.0", "tags":["a", "b"], "extra":"v"}',
      ...['sshd-auth', 'nginx-access'].flatMap((family) =>
        existsSync(join(CORPORA, family))
          ? readdirSync(join(CORPORA, family), { recursive: true, encoding: 'utf8' })
              .filter((f) => f.endsWith('.log'))
              .flatMap((f) =>
                readFileSync(join(CORPORA, family, f), 'utf8')
                  .split('\n')
                  .filter(Boolean),
              )
          : [],
      ),
    ];
    let promotedCleared = 0;
    for (let i = 0; i < 6000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const words = seeds[seed % seeds.length]!.split(' ');
      for (let j = 0; j < 3; j++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const at = seed % words.length;
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        words[at] = `${pieces[seed % pieces.length]}${pieces[(seed >> 8) % pieces.length]}`;
      }
      for (const raw of records(words.join(' ')).slice(0, 2)) if (cleared(raw)) promotedCleared++;
    }
    expect(promotedCleared).toBeGreaterThan(1000);
  });

  it('masks a field named like a secret, config field paths and config rules, recording rule names and paths', () => {
    const redactor = new Redactor(
      redactionSchema.parse({
        rules: [{ name: 'acme_token', pattern: 'acme_[0-9a-f]{8}' }],
        fields: ['unmapped.env'],
      }),
    );
    const event = {
      class_uid: 0,
      category_uid: 0,
      activity_id: 99,
      type_uid: 99,
      severity_id: 1,
      time: 1,
      metadata: { version: '1.8.0', product: { name: 't' } },
      message: 'using acme_0badc0de now',
      unmapped: { env: ['A=1'], api: { client_secret: 'xyz' } },
    } as OcsfEvent;
    const found = redactor.redactEvent(event);
    expect(found).toEqual([
      { rule: 'acme_token', field: 'message' },
      { rule: 'secret_field_name', field: 'unmapped.api.client_secret' },
      { rule: 'fields', field: 'unmapped.env' },
    ]);
    expect(event.message).toBe(`using ${MASK} now`);
    expect(event.metadata.labels).toEqual(['redacted']);
    expect(event.unmapped?.outrider_redactions).toEqual(found);
    expect(JSON.stringify(event)).not.toMatch(/0badc0de|xyz|A=1/);
  });

  it('can be turned off rule by rule', () => {
    const redactor = new Redactor(redactionSchema.parse({ disable: ['program_argument'] }));
    expect(redactor.redactText('mysql -pS3cret')).toBe('mysql -pS3cret');
    expect(redactor.redactText('AKIAIOSFODNN7EXAMPLE')).toBe(MASK);
  });

  it('config errors name the rule and key', () => {
    const config = `
redaction:
  disable: [no_such_rule]
  rules:
    - {name: ok, pattern: "x+"}
    - {name: broken, pattern: "(unclosed"}
sources: {s: {type: file, format: nginx, include: [/tmp/x.log]}}
sinks: {o: {type: stdout, inputs: [s]}}
`;
    let error: ConfigError | undefined;
    try {
      parseConfig(config, findFactory, factoryTypes);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/redaction\.disable\[0\]: Invalid option/);
    expect(error!.message).toMatch(/redaction\.rules\[1\]\.pattern: invalid regular expression/);
  });
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('secrets corpus', () => {
  it('outrider normalise masks the secrets of every input family', async () => {
    const dir = tempDir();
    const inputs = [...SECURITY_INPUTS, { format: 'docker-json', text: containerJsonLines }];
    for (const { format, text } of inputs) {
      const file = join(dir, `${format}.log`);
      writeFileSync(file, text());
      const out = new Collect();
      const summary = await normalise(format, file, out, 'policy-host');
      expect(summary.events, format).toBeGreaterThan(0);
      expect(leaked(out.text), format).toEqual([]);
      const events = out.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as OcsfEvent);
      expect(
        events.some((e) => e.metadata.labels?.includes('redacted')),
        format,
      ).toBe(true);
      const result = validateOcsf(recordOutput(`policy/redaction-normalise-${format}`, events));
      if (result) expect(result.failed, result.output).toBe(0);
    }
  });

  it('the running pipeline masks them before the file sink and an http sink', async () => {
    const dir = tempDir();
    const id = 'ab'.repeat(32);
    mkdirSync(join(dir, 'containers', id), { recursive: true });
    writeFileSync(join(dir, 'containers', id, `${id}-json.log`), containerJsonLines());
    const sources: Record<string, unknown> = {
      containers: {
        type: 'container_logs',
        include: [join(dir, 'containers', '*', '*-json.log')],
        poll_interval: '50ms',
        glob_interval: '100ms',
      },
    };
    let expected = containerJsonLines().trim().split('\n').length;
    for (const { format, text } of SECURITY_INPUTS) {
      const file = join(dir, `${format}.log`);
      writeFileSync(file, text());
      sources[format] = {
        type: 'file',
        format,
        include: [file],
        poll_interval: '50ms',
        glob_interval: '100ms',
        ...(format === 'auditd' ? { auditd: { group_timeout: '100ms', attribute_containers: false } } : {}),
      };
    }
    const received: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(body);
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    try {
      const out = join(dir, 'out.ndjson');
      const inputs = Object.keys(sources);
      const o = await startTestOutrider({
        sources,
        sinks: {
          archive: { type: 'file', inputs, path: out, batch: { timeout: '20ms' } },
          siem: {
            type: 'http',
            inputs,
            uri: `http://127.0.0.1:${port}/ingest`,
            compression: 'none',
            batch: { timeout: '20ms' },
          },
        },
      });
      running.push(o);
      // auditd: 2 events, k8s: 2, sshd: 3, nginx: 3, falco: 1
      expected += 2 + 2 + 3 + 3 + 1;
      expect(await waitFor(() => readNdjson(out).length >= expected, 20_000)).toBe(true);
      expect(await waitFor(() => received.join('').split('\n').filter(Boolean).length >= expected, 10_000)).toBe(true);
      const text = readFileSync(out, 'utf8');
      expect(leaked(text)).toEqual([]);
      expect(leaked(received.join(''))).toEqual([]);
      const events = readNdjson<OcsfEvent>(out);
      const redacted = events.filter((e) => e.metadata.labels?.includes('redacted'));
      expect(redacted.length).toBeGreaterThanOrEqual(expected - 1);
      const result = validateOcsf(recordOutput('policy/redaction-pipeline', events));
      if (result) expect(result.failed, result.output).toBe(0);
      const metrics = await o.metrics.registry.getSingleMetricAsString('outrider_secrets_redacted_total');
      expect(metrics).toMatch(
        /outrider_secrets_redacted_total\{component="auditd",rule="program_argument",component_kind="[a-z]+",component_type="\w+"\} [1-9]/,
      );
      // The rules that fired are named, the values never.
      const rules = new Set(
        redacted.flatMap((e) =>
          ((e.unmapped?.outrider_redactions ?? []) as Array<{ rule: string }>).map((r) => r.rule),
        ),
      );
      for (const rule of ['program_argument', 'aws_access_key_id', 'url_credentials', 'jwt', 'pem_private_key'])
        expect(rules.has(rule), rule).toBe(true);
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });
});

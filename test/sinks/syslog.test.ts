// The syslog sink against a real rsyslogd (our own instance: own config, pid file, work directory and ports in a
// temp dir) receiving RFC 5424 with octet-counting framing over TLS (gtls driver, certificates made in the test) and
// plain TCP, writing each message's header fields and body to a file the test reads back.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';
import { makeEvents, makePki, seqs, startSink, type TestPki } from './support.ts';

const ok = await requireComponents('rsyslog');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** One rsyslogd of our own: TLS input on `tlsPort`, plain TCP on `tcpPort`, UDP on `udpPort`, every message to `out`. */
class Rsyslog {
  readonly out: string;
  private child: ChildProcess | undefined;

  constructor(
    private readonly dir: string,
    pki: TestPki,
    readonly tlsPort: number,
    readonly tcpPort: number,
    readonly udpPort: number,
  ) {
    this.out = join(dir, 'received.log');
    mkdirSync(join(dir, 'work'), { recursive: true });
    writeFileSync(
      join(dir, 'rsyslog.conf'),
      `global(workDirectory="${dir}/work" maxMessageSize="256k"
  DefaultNetstreamDriverCAFile="${pki.caFile}"
  DefaultNetstreamDriverCertFile="${pki.certFile}"
  DefaultNetstreamDriverKeyFile="${pki.keyFile}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
module(load="imptcp")
module(load="imudp")
input(type="imtcp" port="${tlsPort}" address="127.0.0.1" ruleset="out")
input(type="imptcp" port="${tcpPort}" address="127.0.0.1" ruleset="out")
input(type="imudp" port="${udpPort}" address="127.0.0.1" ruleset="out")
template(name="fields" type="string"
  string="%pri%|%hostname%|%app-name%|%procid%|%msgid%|%timereported:::date-rfc3339%|%structured-data%|%msg%\\n")
ruleset(name="out") { action(type="omfile" file="${this.out}" template="fields" flushOnTXEnd="on") }
`,
    );
  }

  async start(): Promise<void> {
    this.child = spawn(
      '/usr/sbin/rsyslogd',
      ['-n', '-f', join(this.dir, 'rsyslog.conf'), '-i', join(this.dir, 'rsyslogd.pid')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    if (!(await waitFor(() => canConnect(this.tlsPort), 10_000))) throw new Error('rsyslogd did not start');
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }

  /** Received messages: header fields and body. */
  lines(): Array<{
    pri: number;
    host: string;
    app: string;
    procid: string;
    msgid: string;
    time: string;
    sd: string;
    msg: string;
  }> {
    if (!existsSync(this.out)) return [];
    return readFileSync(this.out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [pri, host, app, procid, msgid, time, sd, ...rest] = l.split('|');
        return {
          pri: Number(pri),
          host: host!,
          app: app!,
          procid: procid!,
          msgid: msgid!,
          time: time!,
          sd: sd!,
          msg: rest.join('|'),
        };
      });
  }
}

/** CEF extension value unescaping (\\ \= \n). */
const cefUnescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

describe.skipIf(!ok)('syslog sink → rsyslog', () => {
  let dir: string;
  let pki: TestPki;
  let rsyslog: Rsyslog;

  beforeAll(async () => {
    dir = tempDir('outrider-rsyslog-');
    mkdirSync(join(dir, 'pki'));
    pki = makePki(join(dir, 'pki'));
    rsyslog = new Rsyslog(dir, pki, await freePort(), await freePort(), await freePort());
    await rsyslog.start();
  });
  afterAll(async () => {
    await rsyslog?.stop();
  });

  it('delivers RFC 5424 messages with the OCSF JSON over TLS, verified against the test CA', async () => {
    const before = rsyslog.lines().length;
    const harness = await startSink(
      'syslog',
      { host: 'localhost', port: rsyslog.tlsPort, mode: 'tls', tls: { ca_file: pki.caFile }, batch: { timeout: 20 } },
      tempDir(),
    );
    const sent = makeEvents(30, 'web');
    await harness.source.emit(sent);
    expect(await waitFor(() => harness.source.acked === 30, 10_000)).toBe(true);
    expect(await waitFor(() => rsyslog.lines().length >= before + 30, 10_000)).toBe(true);
    const got = rsyslog.lines().slice(before);
    const events = got.map((l) => JSON.parse(l.msg) as Record<string, unknown>);
    expect(events).toEqual(JSON.parse(JSON.stringify(sent.map((e) => e.event))));
    got.forEach((l, i) => {
      const ev = sent[i]!.event;
      // local0 (16) × 8 + informational (6) or warning (4) for Medium
      expect(l.pri).toBe(16 * 8 + (ev.severity_id === 1 ? 6 : 4));
      expect(l).toMatchObject({ host: 'node-1', app: 'outrider', procid: '-', msgid: `ocsf-${ev.class_uid}`, sd: '-' });
      expect(Date.parse(l.time)).toBe(ev.time);
    });
    const file = recordOutput('sinks/syslog-tls', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('keeps events while rsyslog is down and delivers them, in order, once it is back', async () => {
    const before = rsyslog.lines().length;
    const harness = await startSink(
      'syslog',
      {
        host: '127.0.0.1',
        port: rsyslog.tlsPort,
        tls: { ca_file: pki.caFile, server_name: 'localhost' },
        batch: { timeout: 20 },
        retry: { initial_backoff: 50, max_backoff: 200 },
      },
      tempDir(),
    );
    await harness.source.emit(makeEvents(10, 'web'));
    expect(await waitFor(() => rsyslog.lines().length >= before + 10, 10_000)).toBe(true);
    await rsyslog.stop();
    await new Promise((r) => setTimeout(r, 300));
    await harness.source.emit(makeEvents(10, 'web', { from: 10 }));
    await new Promise((r) => setTimeout(r, 700));
    expect(harness.source.acked).toBe(10);
    await rsyslog.start();
    expect(await waitFor(() => harness.source.acked === 20, 10_000)).toBe(true);
    expect(await waitFor(() => rsyslog.lines().length >= before + 20, 10_000)).toBe(true);
    const events = rsyslog
      .lines()
      .slice(before)
      .map((l) => JSON.parse(l.msg) as Record<string, unknown>);
    expect(seqs(events)).toEqual([...Array(20).keys()]);
    const file = recordOutput('sinks/syslog-outage', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('sends CEF with the OCSF event in cs1 over plain TCP', async () => {
    const before = rsyslog.lines().length;
    const harness = await startSink(
      'syslog',
      {
        host: '127.0.0.1',
        port: rsyslog.tcpPort,
        mode: 'tcp',
        format: 'cef',
        facility: 'auth',
        batch: { timeout: 20 },
      },
      tempDir(),
    );
    const sent = makeEvents(8, 'web');
    await harness.source.emit(sent);
    expect(await waitFor(() => rsyslog.lines().length >= before + 8, 10_000)).toBe(true);
    const got = rsyslog.lines().slice(before);
    const events = got.map((l, i) => {
      const ev = sent[i]!.event;
      expect(l.pri).toBe(4 * 8 + (ev.severity_id === 1 ? 6 : 4));
      expect(l.msg.startsWith(`CEF:0|Outrider|Outrider|${ev.metadata.version}|${ev.type_uid}|Base Event: Other|`)).toBe(
        true,
      );
      expect(l.msg).toContain(`rt=${ev.time} dvchost=node-1`);
      return JSON.parse(cefUnescape(/ cs1=(.*)$/.exec(l.msg)![1]!)) as Record<string, unknown>;
    });
    expect(events).toEqual(JSON.parse(JSON.stringify(sent.map((e) => e.event))));
    const file = recordOutput('sinks/syslog-cef', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });
  it('sends no control character raw: CEF shows them as Control Pictures, JSON escapes them', async () => {
    // ESC (a terminal colour), BEL, NUL, tab, DEL and C1 CSI in the message: rsyslog rewrites any it receives raw
    // (`#033`, `#000`…), so none of its escapes may appear in what it wrote.
    const hostile = 'login \x1b[31mred\x1b[0m bell\x07 nul\x00 tab\t del\x7f csi\x9b2J end';
    for (const format of ['cef', 'json'] as const) {
      const before = rsyslog.lines().length;
      const harness = await startSink(
        'syslog',
        { host: '127.0.0.1', port: rsyslog.tcpPort, mode: 'tcp', format, batch: { timeout: 20 } },
        tempDir(),
      );
      const sent = makeEvents(2, 'web');
      for (const e of sent) e.event.message = hostile;
      await harness.source.emit(sent);
      expect(await waitFor(() => rsyslog.lines().length >= before + 2, 10_000)).toBe(true);
      const got = rsyslog.lines().slice(before);
      for (const l of got) {
        expect(l.msg, format).not.toMatch(/#0[0-3]\d|#177|[\x00-\x1f\x7f-\x9f]/);
        const event =
          format === 'cef'
            ? (JSON.parse(cefUnescape(/ cs1=(.*)$/.exec(l.msg)![1]!)) as { message: string })
            : (JSON.parse(l.msg) as { message: string });
        // The exact text survives as JSON escapes.
        expect(event.message, format).toBe(hostile);
        if (format === 'cef')
          expect(cefUnescape(/ msg=(.*?) cs1Label=/.exec(l.msg)![1]!)).toBe(
            'login ␛[31mred␛[0m bell␇ nul␀ tab␉ del␡ csi\ufffd2J end',
          );
      }
      const file = recordOutput(
        `sinks/syslog-controls-${format}`,
        got.map((l) => JSON.parse(format === 'cef' ? cefUnescape(/ cs1=(.*)$/.exec(l.msg)![1]!) : l.msg)),
      );
      expect(validateOcsf(file)?.failed ?? 0).toBe(0);
    }
  });

  it('sends one datagram per event over UDP', async () => {
    const before = rsyslog.lines().length;
    const harness = await startSink(
      'syslog',
      { host: '127.0.0.1', port: rsyslog.udpPort, mode: 'udp', batch: { timeout: 20 } },
      tempDir(),
    );
    const sent = makeEvents(5, 'web');
    await harness.source.emit(sent);
    expect(await waitFor(() => rsyslog.lines().length >= before + 5, 10_000)).toBe(true);
    const events = rsyslog
      .lines()
      .slice(before)
      .map((l) => JSON.parse(l.msg) as Record<string, unknown>);
    expect(new Set(seqs(events))).toEqual(new Set([0, 1, 2, 3, 4]));
    const file = recordOutput('sinks/syslog-udp', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });
});

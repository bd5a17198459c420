// `outrider healthcheck`: asks a running Outrider's admin endpoint whether it is ready — the container image's
// HEALTHCHECK. It runs every 30 s beside the agent, so it loads only what it needs: the YAML parser and the admin
// section's schema, not the pipeline. It reads the admin address from the config the running agent uses, so the check
// follows `admin.address` wherever the operator moves it.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { get } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { type AdminSection, adminUrl, readAdminSection } from '../admin/address.ts';
import { interpolate } from '../config/interpolate.ts';

/** The options of `outrider run`, shared with the command line itself (main.ts) so both read them alike. */
export const RUN_OPTIONS = { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } as const;

export interface RunningAgent {
  pid: number;
  /** The config file it runs on; undefined: the embedded default. */
  config: string | undefined;
}

/** The `outrider run` process described by a command line (argv split on NUL), if it is one. */
export function agentFromCmdline(argv: string[], pid: number, cwd: string): RunningAgent | undefined {
  const script = argv.findIndex((a) => /(?:^|\/)(?:cli\/(?:entry|main)\.js|outrider)$/.test(a));
  if (script < 0 || argv[script + 1] !== 'run') return undefined;
  const { values } = parseArgs({ args: argv.slice(script + 2), options: RUN_OPTIONS, strict: false });
  const config = typeof values.config === 'string' ? resolve(cwd, values.config) : undefined;
  return { pid, config };
}

/** Every `outrider run` process this one can see (in a container: the agent, normally PID 1). */
export function findRunningAgents(proc = '/proc'): RunningAgent[] {
  const found: RunningAgent[] = [];
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`${proc}/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      let cwd = '/';
      try {
        cwd = readlinkSync(`${proc}/${entry}/cwd`);
      } catch {
        // Another user's process: its cwd is hidden; an absolute --config needs none.
      }
      const agent = agentFromCmdline(argv, Number(entry), cwd);
      if (agent) found.push(agent);
    } catch {
      // The process exited while being looked at.
    }
  }
  return found;
}

/** The admin section of a config file, `${VAR}` references resolved; throws naming the file and the problem. */
export function readAdminConfig(file: string, env: NodeJS.ProcessEnv = process.env): AdminSection {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${file}: YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const top = (doc.toJS() ?? {}) as { admin?: unknown };
  const problems: Array<{ path: string; message: string }> = [];
  const admin = readAdminSection(interpolate(top.admin, env, problems, 'admin'));
  if (problems.length > 0) throw new Error(`${file}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  if (typeof admin === 'string') throw new Error(`${file}: ${admin}`);
  return admin;
}

export interface HealthcheckResult {
  healthy: boolean;
  /** One line for the operator (Docker keeps it in `docker inspect`'s health log). */
  message: string;
}

interface ReadyzBody {
  ready?: boolean;
  components?: Record<string, { kind?: string; healthy?: boolean; reason?: string }>;
}

/** GET /readyz (or /healthz when `live`) on the admin address. */
export function probeAdmin(address: string, live: boolean, timeoutMs = 3000): Promise<HealthcheckResult> {
  const url = adminUrl(address, live ? '/healthz' : '/readyz');
  return new Promise((done) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        if (res.statusCode === 200) {
          done({ healthy: true, message: `${live ? 'alive' : 'ready'} (${url})` });
          return;
        }
        let detail = body.trim();
        try {
          const r = JSON.parse(body) as ReadyzBody;
          const bad = Object.entries(r.components ?? {}).filter(([, c]) => c.healthy === false);
          detail = bad.length
            ? bad.map(([name, c]) => `${c.kind ?? 'component'} ${name}: ${c.reason ?? 'unhealthy'}`).join('; ')
            : 'starting or stopping';
        } catch {
          // Not the readiness document: show the body as it is.
        }
        done({ healthy: false, message: `not ready (${url} answered ${res.statusCode}): ${detail}` });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      done({ healthy: false, message: `cannot reach the admin endpoint ${url}: ${err.code ?? err.message}` }),
    );
  });
}

/**
 * The health of the agent running on `config` (or, without one, on the config of the `outrider run` process found
 * here, else the embedded default).
 */
export async function healthcheck(options: {
  config: string | undefined;
  live: boolean;
  defaultConfig: string;
}): Promise<HealthcheckResult> {
  let file = options.config;
  let agent: RunningAgent | undefined;
  if (file === undefined) {
    const agents = findRunningAgents();
    if (agents.length > 1)
      return {
        healthy: false,
        message: `${agents.length} outrider run processes (pids ${agents.map((a) => a.pid).join(', ')}): pass --config FILE`,
      };
    agent = agents[0];
    file = agent?.config ?? options.defaultConfig;
  }
  let admin: AdminSection;
  try {
    admin = readAdminConfig(file);
  } catch (err) {
    return { healthy: false, message: `cannot read the admin address: ${(err as Error).message}` };
  }
  if (!admin.enabled) {
    // Nothing to ask: the process running is all that can be checked.
    agent ??= findRunningAgents().find((a) => a.config === resolve(file));
    if (agent)
      return { healthy: true, message: `admin endpoint disabled in ${file}; outrider runs (pid ${agent.pid})` };
    return { healthy: false, message: `admin endpoint disabled in ${file} and no outrider run process found` };
  }
  return probeAdmin(admin.address, options.live);
}

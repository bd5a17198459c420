// The `outrider` command line (started through entry.ts, which checks the Node version first). Each subcommand loads
// only the modules it needs: `outrider healthcheck` runs every 30 s in the image and must stay cheap.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { OutriderConfig } from '../config/load.ts';
import { didYouMean } from '../config/suggest.ts';
import { RUN_OPTIONS } from './healthcheck.ts';

/** Exit codes, documented in --help and docs/operations.md. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'config', 'outrider.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the Outrider package root');
    dir = up;
  }
}

const defaultConfig = () => join(packageRoot(), 'config', 'outrider.yaml');

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Command {
  /** The synopsis: `outrider <name> …`. */
  usage: string;
  /** One line for `outrider --help`. */
  summary: string;
  /** What it does, for `outrider <name> --help`. */
  description: string;
  options: Options;
  /** Most positional arguments accepted. */
  positionals: number;
  run(values: Values, positionals: string[]): Promise<number>;
}

/** A usage error: what was wrong, the synopsis, exit code 2. */
class UsageError extends Error {}

const FORMAT_OPTIONS = { format: { type: 'string', short: 'f' }, hostname: { type: 'string' } } as const;

async function knownFormat(name: string | undefined, usage: string): Promise<string> {
  if (!name) throw new UsageError(`--format is required\nusage: ${usage}`);
  const { findFormat, formatNames } = await import('../formats/index.ts');
  if (!findFormat(name))
    throw new UsageError(
      `unknown format "${name}"${didYouMean(name, formatNames())} (known: ${formatNames().join(', ')})`,
    );
  return name;
}

/** The validated config, or undefined after printing every problem with its key path (exit code 2). */
async function loadConfigOrReport(file: string, resolveEnv = true): Promise<OutriderConfig | undefined> {
  const { loadConfig } = await import('../app.ts');
  const { ConfigError } = await import('../config/errors.ts');
  try {
    return loadConfig(file, resolveEnv ? process.env : null);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.message.split('\n')) process.stderr.write(`${line}\n`);
    return undefined;
  }
}

async function run(values: Values): Promise<number> {
  // Signals first: a SIGTERM that comes while Outrider starts stops it once started (draining), never kills it
  // half-way through.
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const config = await loadConfigOrReport((values.config as string | undefined) ?? defaultConfig());
  if (!config) return ExitCode.Usage;
  const { startOutrider } = await import('../app.ts');
  const { createLogger } = await import('../observability/logger.ts');
  const logger = createLogger(config.log.level);
  let running: Awaited<ReturnType<typeof startOutrider>>;
  try {
    running = await startOutrider(config, logger);
  } catch (err) {
    // Half-started is never running: one line saying what failed, and out, before anything else moves (sources
    // have not read, or their checkpoints are not saved: nothing is lost).
    process.stderr.write(`outrider: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(ExitCode.Failure);
  }
  const signal = await stopSignal;
  logger.info('shutting down', { signal });
  try {
    await running.stop();
    return ExitCode.Ok;
  } catch (err) {
    logger.error('shutdown failed', { error: err });
    return ExitCode.Failure;
  }
}

const COMMANDS: Record<string, Command> = {
  run: {
    usage: 'outrider run [--config FILE]',
    summary: 'run the agent (default config: the embedded config/outrider.yaml)',
    description: `Runs the agent on FILE (default: the embedded config/outrider.yaml) until SIGTERM or SIGINT, which stop
reading, flush every sink, save checkpoints and exit 0. Exits 2 on an invalid config, 1 when it cannot start
(one line says what failed: the admin address, the data directory, a component), never running half-started.`,
    options: RUN_OPTIONS,
    positionals: 0,
    run: (values) => run(values),
  },
  'check-config': {
    usage: 'outrider check-config [--config FILE] [--no-env]',
    summary: 'validate a config; one line per problem with its key path',
    description: `Validates FILE (default: the embedded config): one line per problem with its key path (a mistyped key gets
the closest known one), warnings for rules that can never apply. Exit 0 when valid, 2 otherwise.
  --no-env   leave \${VAR} and \${file:…} references unresolved: a config whose secrets are set only where it
             runs can be checked anywhere; the values that use them are not checked`,
    options: { config: { type: 'string', short: 'c' }, 'no-env': { type: 'boolean' } },
    positionals: 0,
    run: async (values) => {
      const file = (values.config as string | undefined) ?? defaultConfig();
      const config = await loadConfigOrReport(file, !values['no-env']);
      if (!config) return ExitCode.Usage;
      const { formatProblem } = await import('../config/errors.ts');
      for (const w of config.warnings) process.stdout.write(`warning: ${formatProblem(w)}\n`);
      if (config.unresolved.length > 0)
        process.stdout.write(`not checked (\${…} left unresolved by --no-env): ${config.unresolved.join(', ')}\n`);
      process.stdout.write(
        `${file}: valid (${config.sources.length} sources, ${config.transforms.length} transforms, ${config.sinks.length} sinks)\n`,
      );
      return ExitCode.Ok;
    },
  },
  normalise: {
    usage: 'outrider normalise --format FORMAT [--hostname NAME] [FILE|-]',
    summary: 'offline: FILE (or stdin) in FORMAT to OCSF NDJSON on stdout, a summary on stderr',
    description: `Offline: reads FILE (or stdin) in FORMAT and writes one OCSF event per record as NDJSON on stdout, and a JSON
summary (lines, events, bad input by reason) on stderr. gzip or zstd input is decompressed (and said so); on a
terminal, progress (lines, rate) is shown on stderr. Exit 0 also when some lines were bad: they are counted and
kept raw. Formats: outrider --help.`,
    options: FORMAT_OPTIONS,
    positionals: 1,
    run: async (values, positionals) => {
      const format = await knownFormat(values.format as string | undefined, COMMANDS.normalise!.usage);
      const { normalise } = await import('./normalise.ts');
      const summary = await normalise(
        format,
        positionals[0] ?? '-',
        process.stdout,
        (values.hostname as string | undefined) ?? hostname(),
        { stderr: process.stderr, progress: process.stderr.isTTY === true },
      );
      const bad = Object.values(summary.problems).reduce((a, b) => a + b, 0);
      process.stderr.write(`${JSON.stringify({ ...summary, bad_input_kept_raw: bad })}\n`);
      return ExitCode.Ok;
    },
  },
  'test-rules': {
    usage: 'outrider test-rules --config FILE --format FORMAT [--transform NAME] [--hostname NAME] [FILE|-]',
    summary: "dry run of the config's rules over an input file: what each event would do",
    description: `Dry run of the config's rules transforms (or the one named) over an input file decoded like normalise: per
event, the rules that matched and what they would do (stdout), a summary on stderr.`,
    options: { config: { type: 'string', short: 'c' }, transform: { type: 'string' }, ...FORMAT_OPTIONS },
    positionals: 1,
    run: async (values, positionals) => {
      if (!values.config) throw new UsageError(`--config is required\nusage: ${COMMANDS['test-rules']!.usage}`);
      const format = await knownFormat(values.format as string | undefined, COMMANDS['test-rules']!.usage);
      const config = await loadConfigOrReport(values.config as string);
      if (!config) return ExitCode.Usage;
      const { testRules } = await import('./test-rules.ts');
      const summary = await testRules(
        config,
        format,
        positionals[0] ?? '-',
        process.stdout,
        (values.hostname as string | undefined) ?? hostname(),
        values.transform as string | undefined,
      );
      process.stderr.write(`${JSON.stringify(summary)}\n`);
      return ExitCode.Ok;
    },
  },
  'config-reference': {
    usage: 'outrider config-reference [--json-schema]',
    summary: "the reference of every config key (Markdown), or the config's JSON Schema",
    description: `Prints the reference of every config key (Markdown, as docs/configuration.md), or with --json-schema the
config's JSON Schema (schemas/outrider-config.schema.json), from the schemas of this build.`,
    options: { 'json-schema': { type: 'boolean' } },
    positionals: 0,
    run: async (values) => {
      const { configJsonSchema, renderConfigReference } = await import('../config/reference.ts');
      const { allFactories } = await import('../registry.ts');
      process.stdout.write(
        values['json-schema']
          ? `${JSON.stringify(configJsonSchema(allFactories()), null, 2)}\n`
          : renderConfigReference(allFactories()),
      );
      return ExitCode.Ok;
    },
  },
  healthcheck: {
    usage: 'outrider healthcheck [--config FILE] [--live]',
    summary: "is the running agent ready? (its admin endpoint's /readyz; exit 0 or 1)",
    description: `Asks the running agent's admin endpoint whether it is ready (GET /readyz; with --live, /healthz: only that it
answers) and prints why not; exit 0 healthy, 1 not. The admin address comes from FILE, or without --config from
the config of the \`outrider run\` process found here (in a container, the agent), else the embedded default; with
admin.enabled: false, only that the agent runs is checked. The container image's HEALTHCHECK.`,
    options: { config: { type: 'string', short: 'c' }, live: { type: 'boolean' } },
    positionals: 0,
    run: async (values) => {
      const { healthcheck } = await import('./healthcheck.ts');
      const r = await healthcheck({
        config: values.config as string | undefined,
        live: values.live === true,
        defaultConfig: defaultConfig(),
      });
      process.stdout.write(`${r.message}\n`);
      return r.healthy ? ExitCode.Ok : ExitCode.Failure;
    },
  },
};
COMMANDS.normalize = COMMANDS.normalise!;

async function overallHelp(): Promise<string> {
  const { allFormats } = await import('../formats/index.ts');
  const commands = Object.entries(COMMANDS)
    .filter(([name]) => name !== 'normalize')
    .map(([, c]) =>
      c.usage.length < 40 ? `  ${c.usage.padEnd(40)}${c.summary}` : `  ${c.usage}\n${' '.repeat(42)}${c.summary}`,
    )
    .join('\n');
  return `outrider — security telemetry agent: tails container and audit logs, normalises them to OCSF, ships them.

Usage:
${commands}
  outrider --help | --version
  outrider COMMAND --help                 what COMMAND does, its options

Formats for normalise and test-rules:
${allFormats()
  .map((f) => `  ${f.name.padEnd(14)}${f.description}`)
  .join('\n')}

Exit codes:
  0  success (normalise: also when some lines were bad; they are counted and kept raw)
  1  runtime failure (could not start, a component failed fatally; healthcheck: not healthy)
  2  invalid config or usage
`;
}

/** `Unknown option '--confg'` → that message with the closest known option. */
function parseError(err: Error & { code?: string }, options: Options): string {
  const m = /^Unknown option '(--?[^']+)'/.exec(err.message);
  const names = Object.entries(options).flatMap(([n, o]) => [`--${n}`, ...(o.short ? [`-${o.short}`] : [])]);
  return m ? `unknown option ${m[1]}${didYouMean(m[1]!, names)}` : err.message.split('. ')[0]!;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await overallHelp());
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`outrider ${version()}\n`);
    return ExitCode.Ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(
      `outrider: unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}; outrider --help lists them\n`,
    );
    return ExitCode.Usage;
  }
  const options: Options = { ...command.options, help: { type: 'boolean', short: 'h' } };
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, allowNegative: false }) as typeof parsed;
  } catch (err) {
    process.stderr.write(`outrider ${name}: ${parseError(err as Error, options)}\nusage: ${command.usage}\n`);
    return ExitCode.Usage;
  }
  if (parsed.values.help) {
    process.stdout.write(`usage: ${command.usage}\n\n${command.description}\n`);
    return ExitCode.Ok;
  }
  if (parsed.positionals.length > command.positionals) {
    process.stderr.write(
      `outrider ${name}: unexpected argument "${parsed.positionals[command.positionals]}"\nusage: ${command.usage}\n`,
    );
    return ExitCode.Usage;
  }
  try {
    return await command.run(parsed.values, parsed.positionals);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`outrider ${name}: ${err.message}\n`);
    return ExitCode.Usage;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`outrider: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = ExitCode.Failure;
  },
);

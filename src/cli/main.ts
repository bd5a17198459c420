#!/usr/bin/env -S MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4
// (Decoding runs in worker threads: the main thread's young generation can be small; one malloc arena and a fixed
// mmap threshold keep event buffers freed across threads from holding memory. Measured in docs/performance.md.)
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, startOutrider } from '../app.ts';
import { ConfigError, formatProblem } from '../config/errors.ts';
import { configJsonSchema, renderConfigReference } from '../config/reference.ts';
import { allFormats } from '../formats/index.ts';
import { outriderVersion, packageRoot } from '../observability/build-info.ts';
import { createLogger, effectiveLogLevel } from '../observability/logger.ts';
import { allFactories } from '../registry.ts';
import { esTemplateCommand } from './es-template.ts';
import { normalise } from './normalise.ts';
import { replayDeadLetterCommand } from './replay-dead-letter.ts';
import { testRules } from './test-rules.ts';

/** Exit codes, documented in --help and docs/operations.md. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;

const HELP = `outrider — security telemetry sidecar: tails container and audit logs, normalises them to OCSF, ships them.

Usage:
  outrider run [--config FILE]            run the sidecar (default config: the embedded config/outrider.yaml)
  outrider check-config [--config FILE]   validate a config; prints one line per problem with its key path
  outrider normalise --format FORMAT [FILE|-]
                                          offline: read FILE (or stdin) in FORMAT, write OCSF NDJSON to stdout,
                                          a summary to stderr
  outrider test-rules --config FILE --format FORMAT [--transform NAME] [FILE|-]
                                          dry run of the config's rules transforms over an input file: per event,
                                          the rules that matched and what they would do
  outrider replay-dead-letter --sink NAME [FILE] [--config FILE]
                                          send the events of a sink's dead-letter file (default: its own) again
                                          through that sink; prints a JSON summary
  outrider es-template [--config FILE] [--sink NAME] [--mode index|data_stream] [--opensearch] [--install]
                                          print the index (or data-stream) template of an elasticsearch sink, or
                                          install it with the sink's endpoint and credentials
  outrider config-reference [--json-schema]
                                          print the reference of every config key (Markdown), or the config's
                                          JSON Schema, from the schemas
  outrider --help | --version

Formats for normalise:
${allFormats()
  .map((f) => `  ${f.name.padEnd(14)}${f.description}`)
  .join('\n')}

Exit codes:
  0  success (normalise: also when some lines were bad; they are counted and kept raw)
  1  runtime failure (could not start, a component failed fatally)
  2  invalid config or usage
`;

/** The validated config, or undefined after printing every problem with its key path (exit code 2). */
function loadConfigOrReport(file: string): ReturnType<typeof loadConfig> | undefined {
  try {
    return loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.message.split('\n')) process.stderr.write(`${line}\n`);
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`outrider ${outriderVersion()}\n`);
    return ExitCode.Ok;
  }
  if (command === 'run' || command === 'check-config') {
    const { values } = parseArgs({
      args: rest,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean' } },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return ExitCode.Ok;
    }
    const file = values.config ?? join(packageRoot(), 'config', 'outrider.yaml');
    const config = loadConfigOrReport(file);
    if (!config) return ExitCode.Usage;
    if (command === 'check-config') {
      for (const w of config.warnings) process.stdout.write(`warning: ${formatProblem(w)}\n`);
      process.stdout.write(
        `${file}: valid (${config.sources.length} sources, ${config.transforms.length} transforms, ${config.sinks.length} sinks)\n`,
      );
      return ExitCode.Ok;
    }
    const logger = createLogger(effectiveLogLevel(config.log.level));
    const running = await startOutrider(config, logger);
    return await new Promise<number>((resolve) => {
      const onSignal = (signal: string) => {
        logger.info('shutting down', { signal });
        running.stop().then(
          () => resolve(ExitCode.Ok),
          (err) => {
            logger.error('shutdown failed', { error: err });
            resolve(ExitCode.Failure);
          },
        );
      };
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
    });
  }
  if (command === 'test-rules') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        format: { type: 'string', short: 'f' },
        transform: { type: 'string' },
        hostname: { type: 'string' },
      },
    });
    if (!values.config || !values.format || positionals.length > 1) {
      process.stderr.write('usage: outrider test-rules --config FILE --format FORMAT [--transform NAME] [FILE|-]\n');
      return ExitCode.Usage;
    }
    const config = loadConfigOrReport(values.config);
    if (!config) return ExitCode.Usage;
    const summary = await testRules(
      config,
      values.format,
      positionals[0] ?? '-',
      process.stdout,
      values.hostname ?? hostname(),
      values.transform,
    );
    process.stderr.write(`${JSON.stringify(summary)}\n`);
    return ExitCode.Ok;
  }
  if (command === 'replay-dead-letter' || command === 'es-template') {
    const load = (file: string | undefined) =>
      loadConfigOrReport(file ?? join(packageRoot(), 'config', 'outrider.yaml'));
    const run = command === 'es-template' ? esTemplateCommand : replayDeadLetterCommand;
    return { ok: ExitCode.Ok, failed: ExitCode.Failure, usage: ExitCode.Usage }[await run(rest, load)];
  }
  if (command === 'config-reference') {
    const { values } = parseArgs({ args: rest, options: { 'json-schema': { type: 'boolean' } } });
    process.stdout.write(
      values['json-schema']
        ? `${JSON.stringify(configJsonSchema(allFactories()), null, 2)}\n`
        : renderConfigReference(allFactories()),
    );
    return ExitCode.Ok;
  }
  if (command === 'normalise' || command === 'normalize') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { format: { type: 'string', short: 'f' }, hostname: { type: 'string' } },
    });
    if (!values.format || positionals.length > 1) {
      process.stderr.write('usage: outrider normalise --format FORMAT [FILE|-]\n');
      return ExitCode.Usage;
    }
    const summary = await normalise(
      values.format,
      positionals[0] ?? '-',
      process.stdout,
      values.hostname ?? hostname(),
    );
    const bad = Object.values(summary.problems).reduce((a, b) => a + b, 0);
    process.stderr.write(`${JSON.stringify({ ...summary, bad_input_kept_raw: bad })}\n`);
    return ExitCode.Ok;
  }
  process.stderr.write(`unknown command "${command}"\n\n${HELP}`);
  return ExitCode.Usage;
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

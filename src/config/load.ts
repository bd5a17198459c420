import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { AnyFactory, ComponentKind } from '../core/component.ts';
import { explainFsError } from '../core/os-errors.ts';
import { lintRules } from '../policy/rules-lint.ts';
import { ConfigError, type ConfigProblem, problemsFromZod } from './errors.ts';
import { interpolate } from './interpolate.ts';
import { type TopLevelConfig, topLevelSchema } from './schema.ts';

export interface ComponentConfig {
  name: string;
  kind: ComponentKind;
  type: string;
  factory: AnyFactory;
  /** The component's keys, validated by its factory's schema (defaults filled in). */
  config: Record<string, unknown> & { inputs?: string[] };
}

export interface OutriderConfig extends Omit<TopLevelConfig, 'sources' | 'transforms' | 'sinks'> {
  sources: ComponentConfig[];
  transforms: ComponentConfig[];
  sinks: ComponentConfig[];
  /** Problems that do not stop Outrider (e.g. policy rules that can never apply), printed by check-config. */
  warnings: ConfigProblem[];
  /** Key paths whose `${…}` references were left unresolved (check-config --no-env): their values were not checked. */
  unresolved: string[];
}

export type FactoryLookup = (kind: ComponentKind, type: string) => AnyFactory | undefined;
export type FactoryList = (kind: ComponentKind) => string[];

const SECTION: Record<ComponentKind, 'sources' | 'transforms' | 'sinks'> = {
  source: 'sources',
  transform: 'transforms',
  sink: 'sinks',
};

/**
 * Reads, interpolates and validates a config file; throws ConfigError listing every problem with its key path.
 * `env` null leaves `${…}` references unresolved (check-config --no-env).
 */
export function loadConfigFile(
  file: string,
  lookup: FactoryLookup,
  known: FactoryList,
  env: NodeJS.ProcessEnv | null = process.env,
): OutriderConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const where = explainFsError(err, file, {
      ENOENT:
        'check the path; in a container, mount the file (e.g. -v $PWD/outrider.yaml:/etc/outrider/outrider.yaml:ro)',
      EACCES: 'make it readable for that user (e.g. chmod a+r), or mount it readable',
    });
    throw new ConfigError([{ path: '', message: `cannot read config file ${where}` }]);
  }
  return parseConfig(text, lookup, known, env);
}

/** A YAML error with its position and the lines around it, the caret under the column, indented under it. */
function yamlProblem(message: string): ConfigProblem {
  const [first = '', ...context] = message.trimEnd().split('\n');
  const shown = context.filter((l, i) => l !== '' || i > 0).map((l) => `    ${l}`);
  return { path: '', message: [`YAML: ${first.replace(/:$/, '')}`, ...shown].join('\n') };
}

export function parseConfig(
  text: string,
  lookup: FactoryLookup,
  known: FactoryList,
  env: NodeJS.ProcessEnv | null = process.env,
): OutriderConfig {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => yamlProblem(e.message)));
  const problems: ConfigProblem[] = [];
  const unresolved: string[] = [];
  const raw = interpolate(doc.toJS() ?? {}, env, problems, '', unresolved);
  const top = topLevelSchema.safeParse(raw);
  if (!top.success) problems.push(...problemsFromZod(top.error, '', topLevelSchema));
  // Components are validated even when the top level has problems, so one run reports everything.
  const sections = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const components: Record<ComponentKind, ComponentConfig[]> = { source: [], transform: [], sink: [] };
  const declared: Record<ComponentKind, Array<{ name: string; inputs: unknown }>> = {
    source: [],
    transform: [],
    sink: [],
  };
  for (const kind of ['source', 'transform', 'sink'] as const) {
    const section = SECTION[kind];
    const entries = sections[section];
    if (entries === null || typeof entries !== 'object' || Array.isArray(entries)) continue;
    for (const [name, entry] of Object.entries(entries as Record<string, unknown>)) {
      const prefix = `${section}.${name}`;
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue; // reported by the top level
      declared[kind].push({ name, inputs: (entry as { inputs?: unknown }).inputs });
      if (!/^[A-Za-z0-9_-]+$/.test(name)) {
        problems.push({ path: prefix, message: 'component names may only use letters, digits, "_" and "-"' });
        continue;
      }
      const { type, ...rest } = entry as { type?: unknown };
      if (typeof type !== 'string') continue; // reported by the top level
      const factory = lookup(kind, type);
      if (!factory) {
        problems.push({
          path: `${prefix}.type`,
          message: `unknown ${kind} type "${type}" (known: ${known(kind).join(', ')})`,
        });
        continue;
      }
      const parsed = factory.configSchema.safeParse(rest);
      let config = parsed.data;
      if (!parsed.success) {
        const own = problemsFromZod(parsed.error, prefix, factory.configSchema);
        problems.push(...own);
        // Invalid only where --no-env left a reference: counted as declared, never started.
        if (!own.every((p) => unresolved.some((u) => isAtOrUnder(p.path, u)))) continue;
        config = rest;
      }
      components[kind].push({ name, kind, type, factory, config: config as ComponentConfig['config'] });
    }
  }
  problems.push(...checkGraph(declared));
  const policy = lintRules(components.transform, declared.sink);
  problems.push(...policy.errors);
  // A value left as `${VAR}` by --no-env says nothing about the value the variable will hold: not judged.
  const judged = problems.filter((p) => !unresolved.some((u) => isAtOrUnder(p.path, u)));
  if (judged.length > 0) throw new ConfigError(judged);
  // Valid but for unresolved values (--no-env): the top level as written, only good for check-config's report.
  const { sources: _s, transforms: _t, sinks: _k, ...rest } = top.success ? top.data : (raw as TopLevelConfig);
  return {
    ...rest,
    sources: components.source,
    transforms: components.transform,
    sinks: components.sink,
    warnings: policy.warnings,
    unresolved,
  };
}

/** `sinks.a.tls.ca` is at or under `sinks.a.tls` (and `x[0]` under `x`), not under `sinks.a.t`. */
function isAtOrUnder(path: string, prefix: string): boolean {
  return path === prefix || (path.startsWith(prefix) && (path[prefix.length] === '.' || path[prefix.length] === '['));
}

/** Inputs must name existing sources or transforms, names must be unique, transforms must not form a cycle, and
 * every source must feed something. Works on what was declared, valid or not, so one mistake is reported once. */
function checkGraph(c: Record<ComponentKind, Array<{ name: string; inputs: unknown }>>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const producers = new Map<string, ComponentKind>();
  for (const kind of ['source', 'transform', 'sink'] as const) {
    for (const comp of c[kind]) {
      const other = producers.get(comp.name);
      if (other) problems.push({ path: `${SECTION[kind]}.${comp.name}`, message: `name already used by a ${other}` });
      producers.set(comp.name, kind);
    }
  }
  const inputsOf = (comp: { inputs: unknown }): string[] =>
    Array.isArray(comp.inputs) ? comp.inputs.filter((i): i is string => typeof i === 'string') : [];
  const consumed = new Set<string>();
  for (const kind of ['transform', 'sink'] as const) {
    for (const comp of c[kind]) {
      inputsOf(comp).forEach((input, i) => {
        consumed.add(input);
        const path = `${SECTION[kind]}.${comp.name}.inputs[${i}]`;
        const k = producers.get(input);
        if (k === undefined) problems.push({ path, message: `no source or transform named "${input}"` });
        else if (k === 'sink')
          problems.push({ path, message: `"${input}" is a sink; inputs name sources or transforms` });
        else if (input === comp.name) problems.push({ path, message: 'a transform cannot consume itself' });
      });
    }
  }
  const transformInputs = new Map(c.transform.map((t) => [t.name, inputsOf(t)]));
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string): boolean => {
    if (done.has(name)) return false;
    if (visiting.has(name)) return true;
    visiting.add(name);
    const cyclic = (transformInputs.get(name) ?? []).some((i) => transformInputs.has(i) && visit(i));
    visiting.delete(name);
    done.add(name);
    return cyclic;
  };
  for (const t of c.transform)
    if (visit(t.name)) problems.push({ path: `transforms.${t.name}.inputs`, message: 'transforms form a cycle' });
  for (const s of c.source) {
    if (!consumed.has(s.name))
      problems.push({ path: `sources.${s.name}`, message: 'no transform or sink takes this source as input' });
  }
  if (c.sink.length === 0) problems.push({ path: 'sinks', message: 'at least one sink is required' });
  return problems;
}

// Masks secrets in every string of an event (message, raw_data and unmapped included) and records the fact on the
// event: `metadata.labels` gets "redacted", `unmapped.outrider_redactions` lists rule names and field paths (never
// the values). Runs on every event a source emits, so the common case (nothing to mask) is one combined keyword
// scan per string and no allocation; a string that hits the scan gets only the rules whose keywords it holds.
import type { Envelope } from '../core/envelope.ts';
import type { DecodedEvent } from '../formats/decoder.ts';
import type { OcsfEvent } from '../ocsf/event.ts';
import { visitPath } from './field-path.ts';
import { LinearRegex } from './linear-regex.ts';
import type { RedactionConfig } from './redaction-config.ts';
import {
  BUILTIN_REDACTION_RULES,
  MASK,
  type RedactionRule,
  SECRET_FIELD_NAME,
  SECRET_FIELD_RAW_HINT,
  SECRET_FIELD_RULE,
} from './redaction-rules.ts';

/** One masking on an event: which rule, in which field. */
export interface Redaction {
  rule: string;
  field: string;
}

export const REDACTED_LABEL = 'redacted';

/** `\u` and `\/` escapes, which may spell any word once unescaped. A regex of its own, tested before the rules' raw
 * conditions: inside their alternation, a branch starting with a backslash (in every escaped quote of a record) made
 * the scan three times slower (1.48 vs 0.75 µs per bench record, lower-casing included). */
const UNESCAPE_SPELLS = /\\[u/]/;

// Shorter strings cannot hold a secret together with the context every rule needs.
const MIN_LENGTH = 6;

interface CompiledRule {
  name: string;
  keywords: string[];
  rawHint?: RegExp;
  fields?: string[];
  /** The text with this rule's secrets masked (the same string when there are none). */
  mask: (text: string) => string;
}

export class Redactor {
  private readonly walkRules: CompiledRule[];
  private readonly fieldRules: Array<{ rule: CompiledRule; paths: string[][] }>;
  private readonly maskedFields: string[][];
  private readonly secretFieldNames: boolean;
  private readonly precheck: RegExp | undefined;
  private readonly anyKeywordless: boolean;
  /** Lower-cased keyword → bit mask of the walk rules (by index) that need it. */
  private readonly keywordRules = new Map<string, number>();
  /** Keywords by their first (lower-case) character, to see every keyword starting where the scan hit. */
  private readonly keywordsByFirst = new Map<string, string[]>();
  /** Walk rules without keywords (config rules): tried on every string the scan hits. */
  private readonly keywordlessRules: number;
  private readonly scan: RegExp | undefined;
  /** Every rule's raw-record condition (and secret key names') in one regex, for cleanByRaw (absent: that shortcut
   * does not apply). */
  private readonly rawHints: RegExp | undefined;
  private readonly cleanContext = new WeakMap<object, boolean>();
  private readonly cleanContextStrings = new Map<string, boolean>();
  private readonly found: Redaction[] = [];
  private readonly path: Array<string | number> = [];
  private readonly secretKeyCache = new Map<string, boolean>();

  constructor(config: RedactionConfig) {
    const disabled = new Set(config.disable);
    const redactText = (text: string) => this.redactText(text);
    const builtins = config.enabled
      ? BUILTIN_REDACTION_RULES.filter((r) => !disabled.has(r.name)).map((r) => compileBuiltin(r, redactText))
      : [];
    // Config rules run on RE2 (linear whatever the pattern) and have no keywords: they meet every string.
    const custom = (config.enabled ? config.rules : []).map((r): CompiledRule => {
      const re = new LinearRegex(r.pattern, { ignoreCase: r.case_insensitive });
      return {
        name: r.name,
        keywords: [],
        mask: (text) => re.replaceAll(text, MASK),
        ...(r.fields ? { fields: r.fields } : {}),
      };
    });
    this.walkRules = [...builtins, ...custom.filter((r) => !r.fields)];
    this.fieldRules = custom.filter((r) => r.fields).map((rule) => ({ rule, paths: rule.fields!.map(splitPath) }));
    this.maskedFields = config.enabled ? config.fields.map(splitPath) : [];
    this.secretFieldNames = config.enabled && !disabled.has(SECRET_FIELD_RULE);
    // One scan of the built-in rules' keywords decides whether a string needs any of them; config rules (without
    // keywords) meet every string.
    const keywords = new Set(this.walkRules.flatMap((r) => r.keywords));
    this.precheck = keywords.size > 0 ? new RegExp(keywordAlternation([...keywords]), 'i') : undefined;
    this.scan = keywords.size > 0 ? new RegExp(keywordAlternation([...keywords]), 'gi') : undefined;
    this.anyKeywordless = this.walkRules.some((r) => r.keywords.length === 0);
    // Deciding on the raw text holds only when every rule has a raw condition (config rules have none) and no rule
    // is tied to field paths.
    const hints = [...this.walkRules.map((r) => r.rawHint), ...(this.secretFieldNames ? [SECRET_FIELD_RAW_HINT] : [])];
    this.rawHints =
      hints.length > 0 &&
      hints.every((h) => h !== undefined) &&
      this.fieldRules.length === 0 &&
      this.maskedFields.length === 0
        ? new RegExp(hints.map((h) => `(?:${h.source})`).join('|'))
        : undefined;
    // A mask per keyword keeps rule order (rules apply in sequence) without sorting per string.
    if (this.walkRules.length > 30) this.keywordlessRules = -1;
    else {
      let keywordless = 0;
      this.walkRules.forEach((rule, i) => {
        if (rule.keywords.length === 0) keywordless |= 1 << i;
        for (const word of rule.keywords) {
          const lower = word.toLowerCase();
          this.keywordRules.set(lower, (this.keywordRules.get(lower) ?? 0) | (1 << i));
          const first = lower[0]!;
          const list = this.keywordsByFirst.get(first) ?? [];
          if (!list.includes(lower)) list.push(lower);
          this.keywordsByFirst.set(first, list);
        }
      });
      this.keywordlessRules = keywordless;
    }
  }

  /** True when no rule is active (redaction disabled): callers may skip the call. */
  get inactive(): boolean {
    return (
      this.walkRules.length === 0 &&
      this.fieldRules.length === 0 &&
      this.maskedFields.length === 0 &&
      !this.secretFieldNames
    );
  }

  /** Masks the envelope's event (and its raw text) in place; returns what was masked. */
  redactEnvelope(envelope: Envelope): Redaction[] {
    const found = this.redactEvent(envelope.event);
    if (found.length > 0) {
      envelope.raw = this.redactText(envelope.raw);
      envelope.encoded = undefined;
    }
    return found;
  }

  /**
   * True when an event whose strings all come from `raw` (JSON-unescaped), its mapper's constants, `context` or
   * `composed` (DecodedEvent.fromRaw) cannot hold anything to mask: scans of the raw record and of those strings
   * instead of a walk of the event. Unescaping creates no letters except through `\u` escapes (and `/` through
   * `\/`): raw with those is walked. A record that only mentions a rule's keyword (`token refreshed`, a
   * `curl/8.5.0` user agent) fails every rule's raw condition: it is cleared.
   */
  cleanByRaw(raw: string, context: readonly unknown[], composed: readonly string[] = []): boolean {
    if (this.rawHints === undefined) return this.inactive;
    if (!this.rawClean(raw)) return false;
    for (const value of context) if (!this.contextClean(value)) return false;
    for (const text of composed) if (!this.rawClean(text)) return false;
    return true;
  }

  /** Whether a decoded event may skip the walk: decided on its record and the strings its mapper composed
   * (DecodedEvent.fromRaw), and on its decode context: the file's path, the host name and the event's container. */
  clearsByRecord(decoded: DecodedEvent, path: string | undefined, hostname: string): boolean {
    if (decoded.fromRaw === undefined) return false;
    const container = (decoded.event.device as { container?: unknown } | undefined)?.container;
    return this.cleanByRaw(decoded.raw, [path, hostname, container], decoded.fromRaw);
  }

  /** A record (or a string: a record of itself) that no rule can match, with no escape that spells anything. */
  private rawClean(raw: string): boolean {
    const lower = raw.toLowerCase();
    return !UNESCAPE_SPELLS.test(lower) && !this.rawHints!.test(lower);
  }

  /** Per-file values (path, host name, container object) checked once each. */
  private contextClean(value: unknown): boolean {
    if (typeof value === 'string') {
      let clean = this.cleanContextStrings.get(value);
      if (clean === undefined) {
        clean = this.rawClean(value);
        if (this.cleanContextStrings.size >= 1000) this.cleanContextStrings.clear();
        this.cleanContextStrings.set(value, clean);
      }
      return clean;
    }
    if (value === null || typeof value !== 'object') return true;
    let clean = this.cleanContext.get(value);
    if (clean === undefined) {
      clean = this.contextClean(JSON.stringify(value));
      this.cleanContext.set(value, clean);
    }
    return clean;
  }

  /** Masks the event in place; returns what was masked (also recorded on the event). */
  redactEvent(event: OcsfEvent): Redaction[] {
    const found = this.found;
    found.length = 0;
    this.path.length = 0;
    this.walk(event as Record<string, unknown>);
    for (const { rule, paths } of this.fieldRules) {
      for (const segments of paths) {
        visitStrings(event, segments, (parent, key, path) => {
          const value = parent[key] as string;
          const masked = rule.mask(value);
          if (masked !== value) {
            parent[key] = masked;
            found.push({ rule: rule.name, field: path });
          }
        });
      }
    }
    for (const segments of this.maskedFields) {
      visitValues(event, segments, (parent, key, path) => {
        if (parent[key] === MASK || parent[key] === null) return;
        parent[key] = MASK;
        found.push({ rule: 'fields', field: path });
      });
    }
    if (found.length === 0) return [];
    const result = dedupe(found);
    found.length = 0;
    event.metadata.labels ??= [];
    if (!event.metadata.labels.includes(REDACTED_LABEL)) event.metadata.labels.push(REDACTED_LABEL);
    const previous = (event.unmapped?.outrider_redactions as Redaction[] | undefined) ?? [];
    event.unmapped = { ...event.unmapped, outrider_redactions: dedupe([...previous, ...result]) };
    return result;
  }

  /** Masks one text with the walk rules (used for the envelope's raw text and inside auditd hex values). */
  redactText(text: string): string {
    if (!this.mayHoldSecret(text)) return text;
    let out = text;
    for (const rule of this.walkRules) out = rule.mask(out);
    return out;
  }

  private mayHoldSecret(text: string): boolean {
    return text.length >= MIN_LENGTH && (this.anyKeywordless || this.precheck?.test(text) === true);
  }

  /** Bit mask of the walk rules a string that hit the scan may need (-1: all of them). */
  private candidateRules(text: string): number {
    const scan = this.scan;
    if (this.keywordlessRules === -1) return -1;
    if (scan === undefined) return this.keywordlessRules;
    let mask = this.keywordlessRules;
    scan.lastIndex = 0;
    for (let m = scan.exec(text); m !== null; m = scan.exec(text)) {
      // Every keyword starting here counts, not only the alternative the scan reported (`sig=` / `signature=`).
      for (const word of this.keywordsByFirst.get(m[0].charAt(0).toLowerCase()) ?? [])
        if (text.substr(m.index, word.length).toLowerCase() === word) mask |= this.keywordRules.get(word)!;
      // Overlapping keywords (`…akiasia…`) are found by resuming right after the start of this one.
      scan.lastIndex = m.index + 1;
    }
    return mask;
  }

  private walk(node: Record<string, unknown> | unknown[]): void {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) this.visit(node, i, node[i]);
      return;
    }
    // for…in over plain objects (events are built from literals and JSON.parse) allocates no key array.
    for (const key in node) this.visit(node, key, node[key]);
  }

  private visit(parent: Record<string, unknown> | unknown[], key: string | number, value: unknown): void {
    if (typeof value === 'string') {
      if (typeof key === 'string' && this.isSecretFieldName(key) && value !== MASK && value !== '') {
        (parent as Record<string, unknown>)[key] = MASK;
        this.found.push({ rule: SECRET_FIELD_RULE, field: this.pathTo(key) });
        return;
      }
      if (!this.mayHoldSecret(value)) return;
      const candidates = this.candidateRules(value);
      let out = value;
      const rules = this.walkRules;
      for (let i = 0; i < rules.length; i++) {
        if (candidates !== -1 && !(candidates & (1 << i))) continue;
        const rule = rules[i]!;
        const next = rule.mask(out);
        if (next !== out) {
          this.found.push({ rule: rule.name, field: this.pathTo(key) });
          out = next;
        }
      }
      if (out !== value) (parent as Record<string | number, unknown>)[key] = out;
      return;
    }
    if (value !== null && typeof value === 'object') {
      // The path is only spelled out when something is masked: a stack of keys costs nothing per field.
      this.path.push(key);
      this.walk(value as Record<string, unknown>);
      this.path.pop();
    }
  }

  private isSecretFieldName(key: string): boolean {
    if (!this.secretFieldNames) return false;
    let secret = this.secretKeyCache.get(key);
    if (secret === undefined) {
      secret = SECRET_FIELD_NAME.test(key);
      // Keys repeat from event to event; the bound keeps a stream of unique keys from growing the cache.
      if (this.secretKeyCache.size < 10_000) this.secretKeyCache.set(key, secret);
    }
    return secret;
  }

  private pathTo(key: string | number): string {
    let out = '';
    for (const k of [...this.path, key]) out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
    return out;
  }
}

/** A built-in rule as a masking function: its pattern's groups say what is context and what the secret (see
 * RedactionRule.pattern). */
function compileBuiltin(rule: RedactionRule, redactText: (text: string) => string): CompiledRule {
  const global = new RegExp(rule.pattern.source, `${rule.pattern.flags.replace('g', '')}g`);
  const groups = new RegExp(`${rule.pattern.source}|`).exec('')!.length - 1;
  const replace = rule.replace;
  const masking: (text: string) => string = replace
    ? (text) => text.replace(global, (m) => replace(m, redactText))
    : groups >= 2
      ? (text) =>
          text.replace(
            global,
            (m: string, before: string, secret: string) => before + MASK + m.slice(before.length + secret.length),
          )
      : (text) => text.replace(global, MASK);
  const hint = rule.hint;
  const mask = hint ? (text: string) => (hint.test(text) ? masking(text) : text) : masking;
  return {
    name: rule.name,
    keywords: rule.keywords,
    ...(rule.rawHint ? { rawHint: rule.rawHint } : {}),
    mask,
  };
}

/**
 * Keywords (matched ignoring case) as one alternation shaped like a trie, `p(?:ass|r(?:ivate key|octitle=))|…`:
 * V8 then follows one branch per character instead of trying every word at every position (the keyword scan of a
 * ~200-character log line: 981 → 521 ns). A word that another one starts with stands for both: a match only says
 * that keywords start there (candidateRules looks at every one).
 */
export function keywordAlternation(words: readonly string[]): string {
  const branches = (suffixes: string[]): string => {
    if (suffixes.includes('')) return '';
    const byFirst = new Map<string, string[]>();
    for (const s of suffixes) byFirst.set(s[0]!, [...(byFirst.get(s[0]!) ?? []), s.slice(1)]);
    return [...byFirst]
      .map(([first, rest]) => {
        const tail = branches(rest);
        return literal(first) + (rest.length > 1 && tail.includes('|') ? `(?:${tail})` : tail);
      })
      .join('|');
  };
  return branches([...new Set(words.map((w) => w.toLowerCase()))]);
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function splitPath(path: string): string[] {
  return path.split('.');
}

function visitValues(
  event: OcsfEvent,
  segments: string[],
  fn: (parent: Record<string | number, unknown>, key: string | number, path: string) => void,
): void {
  visitPath(event, segments, (parent, key, path) => fn(parent as Record<string | number, unknown>, key, path));
}

function visitStrings(
  event: OcsfEvent,
  segments: string[],
  fn: (parent: Record<string | number, unknown>, key: string | number, path: string) => void,
): void {
  visitValues(event, segments, (parent, key, path) => {
    const value = parent[key];
    if (typeof value === 'string') fn(parent, key, path);
    else if (Array.isArray(value))
      value.forEach((v, i) => {
        if (typeof v === 'string') fn(value as unknown as Record<number, unknown>, i, `${path}[${i}]`);
      });
  });
}

function dedupe(list: Redaction[]): Redaction[] {
  const seen = new Set<string>();
  return list.filter((r) => {
    const key = `${r.rule}\0${r.field}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Regular expressions written in the config (redaction rules, the rules transform's `regex` operator, multiline
// `condition_pattern`) run on RE2 (the re2js port): time linear in the input whatever the pattern, so no pattern a
// user writes can let one log line stall the node. RE2 has no lookahead and no backreferences: such patterns are
// rejected when the config is checked, naming the key. Lookbehind works (re2js's linear-time lookbehinds).
// Outrider's own patterns use V8's RegExp, written to run in linear time (test/policy/linear-time.test.ts).
import { RE2JS } from 're2js';
import { z } from 'zod';

export interface LinearRegexOptions {
  ignoreCase?: boolean;
}

export class LinearRegex {
  private readonly re: RE2JS;
  readonly source: string;

  /** Throws (with RE2's reason) when the pattern is invalid or needs a backtracking engine. */
  constructor(source: string, options: LinearRegexOptions = {}) {
    this.source = source;
    this.re = RE2JS.compile(
      RE2JS.translateRegExp(source),
      RE2JS.LOOKBEHINDS | (options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0),
    );
  }

  /** Whether the pattern matches anywhere in `text`. */
  test(text: string): boolean {
    return this.re.test(text);
  }

  /** `text` with every match replaced by `replacement` (taken literally); `text` itself when nothing matched. */
  replaceAll(text: string, replacement: string): string {
    if (!this.re.test(text)) return text;
    return this.re.matcher(text).replaceAll(() => replacement);
  }
}

/** Why `source` cannot be a linear-time pattern, or undefined when it can. */
export function linearRegexProblem(source: string): string | undefined {
  try {
    new RegExp(source);
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
  try {
    new LinearRegex(source);
    return undefined;
  } catch (err) {
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '');
    return `cannot run in linear time (RE2 syntax: no lookahead, no backreferences): ${reason}`;
  }
}

/** A config string holding a regular expression that runs in linear time (LinearRegex). */
export const linearRegexSource = z.string().superRefine((source, ctx) => {
  const problem = linearRegexProblem(source);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

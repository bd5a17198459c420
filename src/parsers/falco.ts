// Falco alerts: the JSON output (`json_output: true`, one object per line) and, as a fallback, the plain text
// output (`<time>: <Priority> <output>`).
import { parseJsonObject } from './json.ts';

export interface FalcoAlert {
  time?: string;
  rule?: string;
  priority?: string;
  output?: string;
  source?: string;
  hostname?: string;
  uuid?: string;
  tags?: string[];
  output_fields?: Record<string, unknown>;
  /** Set for alerts read from the text output (no rule name, no fields). */
  text?: true;
  [key: string]: unknown;
}

const TEXT_ALERT =
  /^(\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d{2}:?\d{2})): (Emergency|Alert|Critical|Error|Warning|Notice|Informational|Info|Debug) (.*)$/;

/** Parses one line (a JSON one may come parsed already); a string explains why it is not a Falco alert. */
export function parseFalcoLine(line: string, parsed?: Record<string, unknown>): FalcoAlert | string {
  if (line.charCodeAt(0) !== 123 /* { */) {
    const m = TEXT_ALERT.exec(line);
    if (!m) return 'neither a JSON alert nor a "<time>: <Priority> <output>" text alert';
    return { time: m[1]!.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'), priority: m[2]!, output: m[3]!, text: true };
  }
  const v = parsed ?? parseJsonObject(line);
  if (typeof v === 'string') return v;
  const o = v as FalcoAlert;
  if (typeof o.rule !== 'string' || typeof o.priority !== 'string') return 'missing "rule" or "priority"';
  return o;
}

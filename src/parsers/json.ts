/** A line that holds a JSON object, parsed; undefined for anything else (plain text, JSON that is not an object).
 * Only a line in braces is parsed: most application lines are plain text. */
export function parseJsonMessage(message: string): Record<string, unknown> | undefined {
  const first = message.charCodeAt(0);
  if (first !== 123 /* { */ || message.charCodeAt(message.length - 1) !== 125 /* } */) return undefined;
  const v = parseJsonObject(message);
  return typeof v === 'string' ? undefined : v;
}

/** Parses a line that must hold one JSON object; a string says why it does not. */
export function parseJsonObject(line: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  return v as Record<string, unknown>;
}

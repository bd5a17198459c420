/** A line that holds a JSON object, parsed; undefined for anything else (plain text, JSON that is not an object). */
export function parseJsonMessage(message: string): Record<string, unknown> | undefined {
  const first = message.charCodeAt(0);
  if (first !== 123 /* { */ || message.charCodeAt(message.length - 1) !== 125 /* } */) return undefined;
  try {
    const v: unknown = JSON.parse(message);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
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

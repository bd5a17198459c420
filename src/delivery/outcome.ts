// How a sink tells the shared delivery code what happened to a batch: resolve (all accepted, or a SinkWriteResult for
// per-item outcomes) or throw a DeliveryError saying whether to retry, give up, or split the batch. Any other error
// is treated as retryable (a dropped connection, a timeout).

export type DeliveryErrorKind = 'retry' | 'reject' | 'too_large';

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly kind: DeliveryErrorKind,
    /** From Retry-After (429/503): wait at least this long before the next attempt. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Status classes shared by every HTTP sink; the sink adds what its protocol says on top (HEC codes, bulk items). */
export function errorForStatus(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  detail: string,
): DeliveryError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const message = `HTTP ${status}${detail ? `: ${detail.slice(0, 500)}` : ''}`;
  if (status === 413) return new DeliveryError(message, 'too_large');
  if (status === 408 || status === 429 || status >= 500)
    return new DeliveryError(message, 'retry', parseRetryAfter(headers['retry-after']));
  // 400 (the request is wrong and will stay wrong), 401/403 (the credentials), 404, 3xx without follow: resending
  // the same request cannot succeed.
  return new DeliveryError(message, 'reject');
}

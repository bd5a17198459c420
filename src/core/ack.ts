/**
 * End-to-end acknowledgement. A source attaches one AckToken to each batch it emits; every consumer the batch is
 * handed to holds a reference and releases it once the events are durably handled (written by a sink, or dropped on
 * purpose by a transform). When the last reference goes, the source is told and may advance its cursor.
 */
export class AckToken {
  private refs = 0;
  private done = false;

  constructor(private readonly onAcknowledged: () => void) {}

  retain(count = 1): this {
    if (this.done) throw new Error('AckToken retained after it was acknowledged');
    this.refs += count;
    return this;
  }

  release(): void {
    if (this.done) return;
    this.refs -= 1;
    if (this.refs <= 0) {
      this.done = true;
      this.onAcknowledged();
    }
  }

  get acknowledged(): boolean {
    return this.done;
  }
}

/**
 * Turns acknowledgements that may arrive out of order (a batch routed to one sink can finish before an earlier batch
 * routed to two) into a monotonic committed position: a position is committed only when it and every position before
 * it have been acknowledged.
 */
export class OrderedCommitTracker<P> {
  private readonly pending: Array<{ position: P; acked: boolean }> = [];

  constructor(private readonly onCommit: (position: P) => void) {}

  /** Registers the next position in read order; call the returned function when its batch is acknowledged. */
  track(position: P): () => void {
    const entry = { position, acked: false };
    this.pending.push(entry);
    return () => {
      entry.acked = true;
      this.advance();
    };
  }

  private advance(): void {
    let last: P | undefined;
    while (this.pending.length > 0 && this.pending[0]!.acked) last = this.pending.shift()!.position;
    if (last !== undefined) this.onCommit(last);
  }
}

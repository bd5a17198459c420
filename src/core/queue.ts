/** How much a queue holds, or may hold: events and their encoded bytes. */
export interface QueueWeight {
  events: number;
  bytes: number;
}

/**
 * A FIFO bounded by two totals, events and bytes. `push` waits while either is over capacity, which is how a slow
 * sink slows the sources feeding it (and how memory held by a stuck sink stays bounded in bytes, whatever the size
 * of its events); `shift` waits while it is empty. A single item heavier than the capacity is still accepted when
 * the queue is empty, so nothing can deadlock on a large batch.
 */
export class BoundedQueue<T> {
  private readonly items: Array<{ item: T; weight: QueueWeight }> = [];
  private readonly held: QueueWeight = { events: 0, bytes: 0 };
  private closed = false;
  private readonly spaceWaiters: Array<() => void> = [];
  private itemWaiter: (() => void) | undefined;

  constructor(readonly capacity: QueueWeight) {
    if (!(capacity.events > 0 && capacity.bytes > 0)) throw new Error('queue capacity must be positive');
  }

  /** Events queued. */
  get depth(): number {
    return this.held.events;
  }

  /** Bytes queued. */
  get bytes(): number {
    return this.held.bytes;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private full(weight: QueueWeight): boolean {
    const { held, capacity } = this;
    return (
      held.events > 0 && (held.events + weight.events > capacity.events || held.bytes + weight.bytes > capacity.bytes)
    );
  }

  /** Queues `item`, waiting for room; false when the queue is (or gets) closed first: the item was not queued. */
  async push(item: T, weight: QueueWeight): Promise<boolean> {
    while (!this.closed && this.full(weight)) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.closed) return false;
    this.items.push({ item, weight });
    this.held.events += weight.events;
    this.held.bytes += weight.bytes;
    const waiter = this.itemWaiter;
    this.itemWaiter = undefined;
    waiter?.();
    return true;
  }

  /** The next item, or undefined once the queue is closed and empty. */
  async shift(): Promise<T | undefined> {
    while (this.items.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => {
        this.itemWaiter = resolve;
      });
    }
    return this.take();
  }

  /** The next item if one is there now; never waits. */
  tryShift(): T | undefined {
    return this.items.length > 0 ? this.take() : undefined;
  }

  /** Waits until an item is available or `ms` elapsed; returns whether one is. */
  async waitForItem(ms: number): Promise<boolean> {
    if (this.items.length > 0) return true;
    if (this.closed) return false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (this.itemWaiter === wake) this.itemWaiter = undefined;
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.itemWaiter = wake;
    });
    return this.items.length > 0;
  }

  /** Takes no more items (waiting pushes return false); what is queued can still be shifted. */
  close(): void {
    this.closed = true;
    this.itemWaiter?.();
    this.itemWaiter = undefined;
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  private take(): T {
    const { item, weight } = this.items.shift()!;
    this.held.events -= weight.events;
    this.held.bytes -= weight.bytes;
    if (this.spaceWaiters.length > 0) {
      for (const w of this.spaceWaiters.splice(0)) w();
    }
    return item;
  }
}

/**
 * A FIFO bounded by a total weight (events, usually). `push` waits while the queue is over capacity, which is how a
 * slow sink slows the sources feeding it; `shift` waits while it is empty. A single item heavier than the capacity is
 * still accepted when the queue is empty, so nothing can deadlock on a large batch.
 */
export class BoundedQueue<T> {
  private readonly items: Array<{ item: T; weight: number }> = [];
  private weight = 0;
  private closed = false;
  private readonly spaceWaiters: Array<() => void> = [];
  private itemWaiter: (() => void) | undefined;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new Error('queue capacity must be positive');
  }

  get depth(): number {
    return this.weight;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async push(item: T, weight: number): Promise<void> {
    while (!this.closed && this.weight > 0 && this.weight + weight > this.capacity) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.closed) throw new Error('queue closed');
    this.items.push({ item, weight });
    this.weight += weight;
    const waiter = this.itemWaiter;
    this.itemWaiter = undefined;
    waiter?.();
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

  close(): void {
    this.closed = true;
    this.itemWaiter?.();
    this.itemWaiter = undefined;
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  private take(): T {
    const { item, weight } = this.items.shift()!;
    this.weight -= weight;
    if (this.spaceWaiters.length > 0 && this.weight < this.capacity) {
      for (const w of this.spaceWaiters.splice(0)) w();
    }
    return item;
  }
}

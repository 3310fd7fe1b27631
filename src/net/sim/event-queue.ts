/**
 * Something that happens at a point of virtual time. Implemented by timers and by packets in
 * flight, so that scheduling a packet allocates one object and no closure.
 */
export interface SimEvent {
  /** Virtual time, ms. Set by the queue on insertion. */
  time: number;
  /** Insertion sequence; breaks ties so that equal times run in the order scheduled. */
  seq: number;
  /**
   * True from push until the event fires or is cancelled. A cancelled event stays in the heap,
   * dead, until it surfaces.
   */
  pending: boolean;
  /** True while the event sits in the heap, live or cancelled; owned by the queue. */
  queued: boolean;
  fire(): void;
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * A binary min-heap of events ordered by (time, insertion sequence). Cancellation is lazy, O(1);
 * once cancelled events outnumber live ones the heap is rebuilt, so that a program that arms and
 * disarms timers in a loop cannot grow it without bound.
 */
export class EventQueue {
  private heap: SimEvent[] = [];
  private nextSeq = 0;
  private cancelledCount = 0;

  /** Live (not cancelled) events waiting. */
  get size(): number {
    return this.heap.length - this.cancelledCount;
  }

  /**
   * Schedules `event` at `time`. An event may be pushed again at any point: if it is still in the
   * heap (waiting, or cancelled and not yet swept) its old entry goes first, because changing the
   * key of an entry in place would break the heap order.
   */
  push(event: SimEvent, time: number): void {
    if (event.queued) this.evict(event);
    event.queued = true;
    event.time = time;
    event.seq = this.nextSeq++;
    event.pending = true;
    const heap = this.heap;
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as SimEvent;
      if (!before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  /** Cancels a pending event; an event that fired or was cancelled is left alone. */
  cancel(event: SimEvent): void {
    if (!event.pending) return;
    event.pending = false;
    this.cancelledCount++;
    if (this.cancelledCount > 64 && this.cancelledCount * 2 > this.heap.length) this.compact();
  }

  /** Time of the earliest live event, or `Infinity` when none is left. */
  peekTime(): number {
    this.dropCancelledTop();
    const top = this.heap[0];
    return top === undefined ? Number.POSITIVE_INFINITY : top.time;
  }

  /** Removes and returns the earliest live event. */
  pop(): SimEvent | undefined {
    this.dropCancelledTop();
    const event = this.removeTop();
    if (event !== undefined) event.pending = false;
    return event;
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && !(this.heap[0] as SimEvent).pending) {
      this.removeTop();
      this.cancelledCount--;
    }
  }

  private removeTop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top !== undefined) top.queued = false;
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    this.siftDown(last, 0);
    return top;
  }

  private siftDown(event: SimEvent, start: number): void {
    const heap = this.heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && before(heap[right] as SimEvent, heap[child] as SimEvent)) child = right;
      const c = heap[child] as SimEvent;
      if (!before(c, event)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = event;
  }

  /** Removes `event` from the heap; rare (a re-push before the old entry left), so O(n) is fine. */
  private evict(event: SimEvent): void {
    if (event.pending) {
      event.pending = false;
      this.cancelledCount++;
    }
    this.compact();
  }

  private compact(): void {
    const live: SimEvent[] = [];
    for (const event of this.heap) {
      if (event.pending) live.push(event);
      else event.queued = false;
    }
    this.heap = live;
    this.cancelledCount = 0;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.siftDown(live[i] as SimEvent, i);
  }
}

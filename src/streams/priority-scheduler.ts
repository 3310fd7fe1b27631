import { InvalidParameterError } from '../net/errors.js';

/** One scheduled item: a node of its level's ring. */
class Entry<T> {
  prev: Entry<T> = this;
  next: Entry<T> = this;

  constructor(
    readonly item: T,
    public priority: number,
  ) {}
}

/** The items of one priority, as a circular doubly-linked ring; `head` is the one whose turn it is. */
interface Level<T> {
  readonly priority: number;
  head: Entry<T>;
}

/**
 * Decides which stream sends next on a channel, as SST does (`reference/sst-protocol.md` §3.10):
 * strict priority between levels, higher number first, and round robin within a level, one turn
 * per {@link PriorityScheduler.next} call. The caller adds a stream when it has something to send
 * and removes it when it has nothing left, so every item held is ready.
 *
 * Each level is a ring, so taking a turn, adding at the back and removing are O(1); the non-empty
 * levels are kept in an array sorted by priority, found by binary search and changed only when a
 * level appears or empties. Levels are few in practice, so the array stays short.
 */
export class PriorityScheduler<T> {
  readonly #entries = new Map<T, Entry<T>>();
  readonly #levels = new Map<number, Level<T>>();
  /** The non-empty levels, highest priority first. */
  readonly #order: Level<T>[] = [];

  /**
   * Schedules `item` at `priority`, behind the items already at that level. Does nothing when
   * `item` is already scheduled: change its priority with {@link PriorityScheduler.setPriority}.
   * @throws InvalidParameterError when `priority` is not a safe integer.
   */
  add(item: T, priority: number): void {
    checkPriority(priority);
    if (this.#entries.has(item)) return;
    const entry = new Entry(item, priority);
    this.#entries.set(item, entry);
    this.#link(entry);
  }

  /** Unschedules `item`; does nothing when it is not scheduled. The next item in turn keeps its turn. */
  remove(item: T): void {
    const entry = this.#entries.get(item);
    if (entry === undefined) return;
    this.#entries.delete(item);
    this.#unlink(entry);
  }

  /**
   * Moves a scheduled `item` to the back of level `priority`; it counts from the very next
   * {@link PriorityScheduler.next} call. Does nothing when `item` is not scheduled, because the
   * caller gives the priority again when it adds the item, or when `priority` is its priority
   * already, so that repeating a priority neither costs nor gains a turn.
   * @throws InvalidParameterError when `priority` is not a safe integer.
   */
  setPriority(item: T, priority: number): void {
    checkPriority(priority);
    const entry = this.#entries.get(item);
    if (entry === undefined || entry.priority === priority) return;
    this.#unlink(entry);
    entry.priority = priority;
    this.#link(entry);
  }

  /** Whether `item` is scheduled. */
  has(item: T): boolean {
    return this.#entries.has(item);
  }

  /** How many items are scheduled. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The item whose turn it is, the next in round robin order at the highest non-empty level, and
   * moves it to the back of its level; undefined when nothing is scheduled.
   */
  next(): T | undefined {
    const top = this.#order[0];
    if (top === undefined) return undefined;
    const entry = top.head;
    top.head = entry.next;
    return entry.item;
  }

  /** The item {@link PriorityScheduler.next} would return, without taking its turn. */
  peek(): T | undefined {
    return this.#order[0]?.head.item;
  }

  /** Puts a lone `entry` at the back of its level, creating the level if it was empty. */
  #link(entry: Entry<T>): void {
    const level = this.#levels.get(entry.priority);
    if (level === undefined) {
      const created = { priority: entry.priority, head: entry };
      this.#levels.set(entry.priority, created);
      this.#order.splice(this.#position(entry.priority), 0, created);
      return;
    }
    // The back of the ring is just before the head, whose turn comes first.
    const head = level.head;
    entry.prev = head.prev;
    entry.next = head;
    head.prev.next = entry;
    head.prev = entry;
  }

  /** Takes `entry` out of its ring, leaving it lone; a level left empty is dropped. */
  #unlink(entry: Entry<T>): void {
    if (entry.next === entry) {
      this.#levels.delete(entry.priority);
      this.#order.splice(this.#position(entry.priority), 1);
      return;
    }
    entry.prev.next = entry.next;
    entry.next.prev = entry.prev;
    const level = this.#levels.get(entry.priority) as Level<T>;
    if (level.head === entry) level.head = entry.next;
    entry.prev = entry;
    entry.next = entry;
  }

  /** Index of the first level in the order whose priority is not above `priority`. */
  #position(priority: number): number {
    let low = 0;
    let high = this.#order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#order[middle] as Level<T>).priority > priority) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

function checkPriority(priority: number): void {
  if (!Number.isSafeInteger(priority)) {
    throw new InvalidParameterError('priority', `must be a safe integer, got ${priority}`);
  }
}

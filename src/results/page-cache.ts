// Answers to read queries over results, remembered until what they show
// changes.
//
// A write generation moves on with every committed change to what they show:
// a write through this process (the service call of any operation that may
// change a results page, see http/operations.ts and services/index.ts) moves
// it before its response is sent, and a change committed anywhere else
// moves it when the change feed (db/change-feed.ts) hears of it. A
// remembered answer of an older generation is never given again.
//
// Concurrent asks for the same key in the same generation share one query
// ("single flight"), so an expiring entry under load costs one query, not one
// per waiting request.

/**
 * A counter that every write moves on: an answer remembered in an older
 * generation is stale. One per service instance (createServices makes it,
 * hands `advance` to the operation binding as its `onWrite` and to the change
 * feed), shared by the caches of that instance.
 */
export class WriteGeneration {
  private count = 0;

  get value(): number {
    return this.count;
  }

  /** Call after a write: every remembered answer is stale from now on. */
  advance(): void {
    this.count += 1;
  }
}

export interface ReadCacheOptions<V> {
  /** How long an answer may be given again, ms; 0 remembers nothing and shares nothing. */
  ttlMs: number;
  /** The most answers remembered; the least recently used go first. */
  maxEntries: number;
  /** The most total weight remembered: the keys' lengths plus `weigh` of each value, e.g. bytes of JSON. */
  maxWeight?: number;
  weigh?: (value: V) => number;
}

interface Entry<V> {
  value: V;
  at: number;
  generation: number;
  weight: number;
}

export class ReadCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, { generation: number; promise: Promise<{ value: V; at: number }> }>();
  private weight = 0;
  /** Answers given from memory, and loaded (or shared with a running load), since the start. */
  hits = 0;
  misses = 0;

  constructor(
    private readonly generation: WriteGeneration,
    private readonly options: ReadCacheOptions<V>,
  ) {}

  /** The answer for `key`: remembered if still good, else `load()`'s (shared with concurrent asks). */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    return (await this.getDated(key, load)).value;
  }

  /**
   * `get`, and when the answer was read from the database (performance.now()
   * time). `asOf`, if given, tells when the oldest data `load` used was read
   * (an answer built from another remembered answer), so that an answer is
   * never given for longer than the TTL after its oldest part.
   */
  getDated(key: string, load: () => Promise<V>, asOf?: () => number | undefined): Promise<{ value: V; at: number }> {
    if (this.options.ttlMs <= 0) {
      this.misses += 1;
      return load().then((value) => ({ value, at: performance.now() }));
    }
    const generation = this.generation.value;
    const entry = this.entries.get(key);
    if (entry) {
      if (entry.generation === generation && performance.now() - entry.at < this.options.ttlMs) {
        // Most recently used last: the Map's order is the eviction order.
        this.entries.delete(key);
        this.entries.set(key, entry);
        this.hits += 1;
        return Promise.resolve({ value: entry.value, at: entry.at });
      }
      this.forget(key, entry);
    }
    this.misses += 1;
    const running = this.inFlight.get(key);
    if (running?.generation === generation) return running.promise;
    const started = performance.now();
    const promise = load().then(
      (value) => {
        if (this.inFlight.get(key)?.promise === promise) this.inFlight.delete(key);
        const at = Math.min(started, asOf?.() ?? started);
        // Stored under the generation it was asked in: a write that landed
        // meanwhile makes it stale at once.
        this.remember(key, { value, at, generation, weight: key.length + (this.options.weigh?.(value) ?? 0) });
        return { value, at };
      },
      (error: unknown) => {
        if (this.inFlight.get(key)?.promise === promise) this.inFlight.delete(key);
        throw error;
      },
    );
    this.inFlight.set(key, { generation, promise });
    return promise;
  }

  private remember(key: string, entry: Entry<V>): void {
    const maxWeight = this.options.maxWeight ?? Infinity;
    if (entry.weight > maxWeight) return;
    const previous = this.entries.get(key);
    if (previous) this.forget(key, previous);
    this.entries.set(key, entry);
    this.weight += entry.weight;
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.weight <= maxWeight) break;
      this.forget(oldest, old);
    }
  }

  private forget(key: string, entry: Entry<V>): void {
    this.entries.delete(key);
    this.weight -= entry.weight;
  }
}

// A fixed-size ring of the last N samples: the sampler pushes, views read the newest ones.

export interface Ring<T> {
  readonly capacity: number;
  readonly size: number;
  push(item: T): void;
  /** The newest item (0) or the one `back` places before it; undefined when there is none. */
  latest(back?: number): T | undefined;
  /** Oldest first. */
  toArray(): T[];
  clear(): void;
}

export function createRing<T>(capacity: number): Ring<T> {
  if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`ring capacity ${capacity}: expected an integer ≥ 2 (rates need two samples)`);
  const slots: (T | undefined)[] = new Array<T | undefined>(capacity);
  let next = 0; // where the next push goes
  let size = 0;
  return {
    capacity,
    get size() {
      return size;
    },
    push(item) {
      slots[next] = item;
      next = (next + 1) % capacity;
      size = Math.min(size + 1, capacity);
    },
    latest(back = 0) {
      if (!Number.isInteger(back) || back < 0 || back >= size) return undefined;
      return slots[(next - 1 - back + capacity * 2) % capacity];
    },
    toArray() {
      const out: T[] = [];
      for (let i = size - 1; i >= 0; i--) out.push(slots[(next - 1 - i + capacity * 2) % capacity] as T);
      return out;
    },
    clear() {
      slots.fill(undefined);
      next = 0;
      size = 0;
    },
  };
}

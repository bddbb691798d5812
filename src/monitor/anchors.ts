// The earlier samples the exporter's audit is judged against. A scrape judges its sample against
// the newest kept sample at least `minMs` older (the oldest kept one while none is that old yet,
// at start), so only samples at least minMs / FRACTION apart are kept, and none older than the
// one chosen (the choice only moves forward in time). Keeping every sample in between (the last
// 32 were kept) made each one outlive V8's young generation: under 50 concurrent scrapers (~200
// samples a second) they were all promoted, and the old generation, and resident memory with it,
// grew by tens of MiB between full collections.

export interface Timed {
  /** Milliseconds on the monotonic clock. */
  mono_ms: number;
}

export interface Anchors<T extends Timed> {
  /** The kept sample `now` is judged against (null when none is older than it), then keeps `now`
   *  when it is at least minMs / FRACTION after the newest kept one. */
  judge(now: T): T | null;
  /** Kept samples, oldest first. */
  kept(): readonly T[];
}

const FRACTION = 4;

export function createAnchors<T extends Timed>(minMs: number, first?: T): Anchors<T> {
  const kept: T[] = first ? [first] : [];
  return {
    judge: (now) => {
      let i = kept.length - 1;
      while (i >= 0 && now.mono_ms - (kept[i] as T).mono_ms < minMs) i--;
      if (i > 0) kept.splice(0, i);
      const prev = kept[0];
      const last = kept[kept.length - 1];
      if (!last || now.mono_ms - last.mono_ms >= minMs / FRACTION) kept.push(now);
      return prev && prev.mono_ms < now.mono_ms ? prev : null;
    },
    kept: () => kept,
  };
}

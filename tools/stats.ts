/**
 * Small statistics and randomness helpers shared by the tooling: the CLI (`send`'s latency summary
 * and sample plans), the benchmarks and the tests. Nothing here runs in the Lambda functions.
 */

/**
 * Nearest-rank percentile (`p` in 0..100) of the values, in any order (a sorted copy is used, the
 * input is left alone). NaN when there are no values: no number a caller could mistake for a
 * measurement; a caller that wants something else for an empty input checks for it first.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** The nearest-rank 50th percentile (see {@link percentile}); NaN when there are no values. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Rounds for display and for `bench/results.json`, keeping `digits` significant digits. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const factor = 10 ** Math.max(0, digits - 1 - magnitude);
  return Math.round(value * factor) / factor;
}

/** A source of numbers in [0, 1), as `Math.random`. */
export type Random = () => number;

/**
 * Fisher–Yates shuffle of `items` in place (the same array is returned), drawing from `random`:
 * with a {@link seeded} generator a run can be repeated exactly.
 */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** mulberry32: a tiny deterministic stand-in for `Math.random`, the same numbers for the same seed. */
export function seeded(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

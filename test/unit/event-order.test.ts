import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventTimeOrder, isoTime } from '#core/job';
import { compareText } from '#core/rules';

/**
 * A job is ordered by its events' own times (`eventTimeOrder`); the stores compare the text as
 * DynamoDB does (`compareText`, by UTF-8 bytes). Times inside one millisecond must still compare as
 * the instants they are, and texts stored before sub-millisecond digits existed must keep their
 * place.
 */
/** One sent time: the instant (ms, nanos within it), the fraction digits written, the offset. */
type Instant = { ms: number; nanos: number; digits: number; offsetMinutes: number };
const instant: fc.Arbitrary<Instant> = fc.record({
  ms: fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') }),
  // Nanoseconds within the millisecond, and how many fraction digits the sender wrote (3 to 9).
  nanos: fc.integer({ min: 0, max: 999_999 }),
  digits: fc.integer({ min: 3, max: 9 }),
  offsetMinutes: fc.constantFrom(0, 60, -300, 330),
});

/** The instant as a sender would write it: the fraction to `digits` digits, in a given offset. */
function written({ ms, nanos, digits, offsetMinutes }: Instant): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString();
  const fraction = `${local.slice(20, 23)}${String(nanos).padStart(6, '0')}`.slice(0, digits);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const zone =
    offsetMinutes === 0
      ? 'Z'
      : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local.slice(0, 19)}.${fraction}${zone}`;
}

/** The instant the sender meant, in nanoseconds since the epoch, after its fraction was cut to `digits`. */
function nanosOf({ ms, nanos, digits }: Instant): bigint {
  const fraction = `${String(((ms % 1000) + 1000) % 1000).padStart(3, '0')}${String(nanos).padStart(6, '0')}`;
  return BigInt(Math.floor(ms / 1000)) * 1_000_000_000n + BigInt(fraction.slice(0, digits).padEnd(9, '0'));
}

describe('eventTimeOrder', () => {
  it('orders any two sent times as the instants they are, to the nanosecond (property)', () => {
    fc.assert(
      fc.property(instant, instant, (a, b) => {
        const ta = written(a);
        const tb = written(b);
        const order = (t: string) => eventTimeOrder(isoTime(t) as string, t);
        const expected = Math.sign(Number(nanosOf(a) - nanosOf(b)));
        expect(Math.sign(compareText(order(ta), order(tb)))).toBe(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps a text stored with milliseconds only as the first instant of its millisecond', () => {
    const stored = '2026-01-10T10:00:00.000Z';
    expect(eventTimeOrder(stored, '2026-01-10T10:00:00.000Z')).toBe(stored);
    expect(compareText(stored, eventTimeOrder(stored, '2026-01-10T10:00:00.0001Z'))).toBeLessThan(0);
    expect(
      compareText(stored, eventTimeOrder('2026-01-10T10:00:00.001Z', '2026-01-10T10:00:00.001Z')),
    ).toBeLessThan(0);
  });

  it('the example: .0002 is after .0001 though both are the same millisecond', () => {
    const newer = eventTimeOrder('2026-01-10T10:00:00.000Z', '2026-01-10T10:00:00.0002Z');
    const older = eventTimeOrder('2026-01-10T10:00:00.000Z', '2026-01-10T10:00:00.0001Z');
    expect(compareText(older, newer)).toBeLessThan(0);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '#core/consume';
import {
  conflictAttributes,
  eventAttributes,
  indexedOutcomes,
  packBody,
  readableEvent,
  readBody,
} from '#core/records';
import { eventRecord } from '../support/factories.ts';

const outcomes = ['applied', 'stale', 'recorded', 'quarantined', 'unprocessable', 'conflict'] as const;

const event = (rawBody: string | undefined, provider = 'cooledge', eventKey = 'evt-1'): EventRecord =>
  eventRecord({ rawBody, provider, eventKey });

describe('records: the body as the event log keeps it', () => {
  it('gives back every body exactly, compressed, whatever its text (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 2_000 }),
          fc.json({ maxDepth: 4 }),
          fc.string({ unit: 'binary', maxLength: 300 }).map((text) => text.toWellFormed()),
        ),
        (body) => {
          const item = eventAttributes(event(body), 'applied');
          expect(item.bodyBrotli).toBeInstanceOf(Uint8Array);
          expect(item.rawBody).toBeUndefined();
          expect(readBody(item)).toBe(body);
          // Deterministic, so two stores writing the same event write the same item.
          expect(packBody(body)).toEqual(item.bodyBrotli);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('shrinks the JSON bodies providers send to well under half', () => {
    const body = JSON.stringify({
      event_type: 'job.completed',
      data: Array.from({ length: 20 }, (_, i) => ({ field_name: `Field ${i}`, value: 'yes', price: 10 })),
    });
    expect(packBody(body).byteLength).toBeLessThan(Buffer.byteLength(body) / 2);
  });

  it('reads the first version text body, and none from a record that kept only its hash', () => {
    expect(readBody({ rawBody: '{"a":1}' })).toBe('{"a":1}');
    expect(readBody({ bodySha256: 'ab' })).toBeUndefined();
    expect(eventAttributes(event(undefined), 'unprocessable').bodyBrotli).toBeUndefined();
  });
});

describe('records: only records that need attention are in the byProvider index', () => {
  it('sets `provider`, the index partition key, iff the outcome is indexed (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...outcomes),
        fc.stringMatching(/^[a-z0-9-]{1,12}$/),
        fc.string({ minLength: 1 }),
        (outcome, provider, key) => {
          const item = eventAttributes(event('{}', provider, key), outcome);
          expect(item.provider === provider).toBe(indexedOutcomes.has(outcome));
          expect(item.provider === undefined).toBe(!indexedOutcomes.has(outcome));
          // A reader gets the provider back either way, from the item key.
          expect(readableEvent(item).provider).toBe(provider);
        },
      ),
    );
    expect([...indexedOutcomes].sort()).toEqual(['conflict', 'quarantined', 'unprocessable']);
    expect(conflictAttributes(event('{}'), 'fp2', 'fp').provider).toBe('cooledge');
  });

  it('shows a reader the body as text and the provider, for new and first-version records alike', () => {
    const stored = eventAttributes(event('{"x":"é"}'), 'applied');
    const readable = readableEvent(stored);
    expect(readable).toMatchObject({ provider: 'cooledge', eventKey: 'evt-1', rawBody: '{"x":"é"}' });
    expect(readable).not.toHaveProperty('bodyBrotli');
    const firstVersion = { pk: 'zenbooker#k', provider: 'zenbooker', eventKey: 'k', rawBody: '{}' };
    expect(readableEvent(firstVersion)).toEqual(firstVersion);
  });
});

import { describe, expect, it } from 'vitest';
import { attributeText, queueBody } from '#adapters/sqs-queue';
import type { QueueMessage } from '#core/message';

const message = (eventType: string, eventKey = 'k'): QueueMessage => ({
  v: 1,
  provider: 'cooledge',
  eventKey,
  eventType,
  receivedAt: '2026-06-01T00:00:00.000Z',
  bodyBase64: '',
  headers: {},
});

// SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in a body.
const sqsInvalid = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

describe('queue message encoding', () => {
  it('escapes the non-characters SQS refuses, and parses back to the same message', () => {
    const original = message('job.\uFFFEcompleted', 'key\uFFFF\u0001\uD800');
    const body = queueBody(original);
    expect(sqsInvalid.test(body)).toBe(false);
    expect(JSON.parse(body)).toEqual(original);
  });

  it('writes every character outside printable ASCII, emoji included, as an escape that parses back', () => {
    const original = message('job.completed', 'ключ-🔑\u00e9\u2028');
    const body = queueBody(original);
    expect(body).toMatch(/^[\x20-\x7e]*$/);
    expect(body).toContain('\\u043a\\u043b\\u044e\\u0447-\\ud83d\\udd11\\u00e9\\u2028');
    expect(JSON.parse(body)).toEqual(original);
  });

  it('keeps a message of printable ASCII as JSON.stringify writes it', () => {
    const original = message('job.completed', 'evt-1 "quoted" \\ slash');
    expect(queueBody(original)).toBe(JSON.stringify(original));
  });

  it('turns an event type into a printable attribute of at most 256 characters', () => {
    expect(attributeText('job.completed')).toBe('job.completed');
    expect(attributeText('job.\u0000\uFFFF🔑')).toBe('job.\\u0000\\uffff\\ud83d\\udd11');
    expect(attributeText('job.é')).not.toBe(attributeText('job.ü'));
    // Cut at 256 without leaving half an escape.
    expect(attributeText(`${'x'.repeat(253)}é`)).toBe('x'.repeat(253));
    expect(attributeText('x'.repeat(300))).toHaveLength(256);
    expect(attributeText('')).toBe('(none)');
  });
});

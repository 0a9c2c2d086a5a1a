import { describe, expect, it } from 'vitest';
import {
  admissionIssues,
  idProblem,
  illFormedIdDetail,
  maxIdBytes,
  namedIds,
  storableNumber,
  storableNumberExpectation,
} from '#core/limits';
import type { EventFacts } from '#core/provider';

const facts = (overrides: Partial<EventFacts> = {}): EventFacts => ({
  accountId: 'acc-1',
  entityIds: { job_id: 'job-1', customer_id: 'cust-1' },
  occurredAt: '2026-06-20T00:00:00.000Z',
  job: { jobId: 'job-1', fields: { status: 'completed', total: 462 } },
  ...overrides,
});
const context = { reference: '2026-06-20T00:00:00.000Z', eventTimeSkewSeconds: 300 };

describe('storableNumber', () => {
  it.each([0, -0, 1, -1, 0.1, 462.05, 9007199254740991, -9007199254740991, 1e-130, -1e-130, 1.5e-7])(
    'accepts %d',
    (n) => {
      expect(storableNumber(n)).toBe(true);
    },
  );

  it.each([
    9007199254740992,
    -9007199254740992,
    1e16,
    1e200,
    1e-131,
    1e-200,
    5e-324,
    Number.NaN,
    Infinity,
    -Infinity,
  ])('refuses %d', (n) => {
    expect(storableNumber(n)).toBe(false);
  });

  it('names the rule in the phrase a quarantine issue uses', () => {
    expect(storableNumberExpectation).toBe(
      'a number stored exactly: an integer within ±9007199254740991 or a fraction of magnitude at least 1e-130',
    );
  });
});

describe('idProblem', () => {
  it.each([
    ['a UUID', '5c1a0e74-3d29-4b06-9f81-2e7a0c4d6b18'],
    ['1024 ASCII characters', 'x'.repeat(1024)],
    ['512 two-byte characters', 'é'.repeat(512)],
    ['256 emoji (a well-formed pair each)', '😀'.repeat(256)],
  ])('accepts %s', (_, id) => {
    expect(idProblem(id)).toBeUndefined();
  });

  it.each([
    ['an empty string', '', 'must not be empty'],
    ['a lone high surrogate', 'job-1\ud800', 'must be well-formed Unicode (it holds a lone surrogate)'],
    ['a lone low surrogate', '\udc00', 'must be well-formed Unicode (it holds a lone surrogate)'],
    ['1025 ASCII characters', 'x'.repeat(1025), `must be at most ${maxIdBytes} UTF-8 bytes`],
    ['700 × 工 (2100 bytes)', '工'.repeat(700), 'must be at most 1024 UTF-8 bytes'],
    ['257 emoji (1028 bytes)', '😀'.repeat(257), 'must be at most 1024 UTF-8 bytes'],
  ])('refuses %s', (_, id, problem) => {
    expect(idProblem(id)).toBe(problem);
  });
});

describe('the ids an event names', () => {
  it('lists the job id, the account id and the entity ids, each with its field', () => {
    expect(namedIds(facts())).toEqual([
      ['job id', 'job-1'],
      ['account id', 'acc-1'],
      ['customer_id', 'cust-1'],
    ]);
  });

  it('lists an id once: the job’s own job_id repeats the job id', () => {
    expect(namedIds(facts({ entityIds: { job_id: 'job-1', quote_id: 'job-1', lead_id: 'lead-1' } }))).toEqual(
      [
        ['job id', 'job-1'],
        ['account id', 'acc-1'],
        ['lead_id', 'lead-1'],
      ],
    );
  });

  it('names the first id that is not well-formed Unicode', () => {
    expect(illFormedIdDetail(facts())).toBeUndefined();
    expect(illFormedIdDetail(facts({ accountId: 'acc\udfff' }))).toBe(
      'account id must be well-formed Unicode (it holds a lone surrogate)',
    );
    expect(illFormedIdDetail(facts({ entityIds: { invoice_id: '\ud800inv' } }))).toBe(
      'invoice_id must be well-formed Unicode (it holds a lone surrogate)',
    );
  });
});

describe('admissionIssues', () => {
  it('admits an event with short ids, storable numbers and a time at its receipt', () => {
    expect(admissionIssues(facts(), context)).toEqual([]);
  });

  it('names every id too long for a key', () => {
    const long = '工'.repeat(342);
    expect(
      admissionIssues(facts({ job: { jobId: long, fields: {} }, entityIds: { job_id: long } }), context),
    ).toEqual([
      {
        path: 'job id',
        message: 'expected an id that is non-empty, well-formed Unicode and at most 1024 UTF-8 bytes',
      },
    ]);
  });

  it('names a job field the store would not keep exactly, by its canonical name', () => {
    const job = { jobId: 'job-1', fields: { total: 1e16, amountPaid: 0.5, amountDue: 1e-200 } };
    expect(admissionIssues(facts({ job }), context)).toEqual([
      { path: 'total', message: `expected ${storableNumberExpectation}` },
      { path: 'amountDue', message: `expected ${storableNumberExpectation}` },
    ]);
  });

  it.each([
    ['at its receipt', '2026-06-20T00:00:00.000Z', []],
    ['exactly the skew after it', '2026-06-20T00:05:00.000Z', []],
    ['a millisecond more', '2026-06-20T00:05:00.001Z', ['event time']],
    ['a year before it', '2025-06-20T00:00:00.000Z', []],
    ['in year 9999', '9999-12-31T23:59:59.000Z', ['event time']],
  ])('judges an event time %s', (_, occurredAt, paths) => {
    expect(admissionIssues(facts({ occurredAt }), context).map((issue) => issue.path)).toEqual(paths);
  });

  it('admits any time when the event has none of its own', () => {
    expect(admissionIssues(facts({ occurredAt: undefined }), context)).toEqual([]);
  });
});

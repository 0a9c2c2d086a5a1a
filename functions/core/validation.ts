import * as v from 'valibot';
import type { Issue } from './message.ts';

const maxIssues = 20;

/**
 * valibot issues as `{path, message}` that never quote the received value: a provider sees where
 * and what was expected, and nothing of the payload (which may hold personal data) is echoed.
 */
export function toIssues(issues: readonly v.BaseIssue<unknown>[]): Issue[] {
  return issues.slice(0, maxIssues).map((issue) => ({
    // Keys come from the payload: a hostile one must not make the stored issue list unbounded.
    path: (v.getDotPath(issue) ?? '(root)').slice(0, 200),
    message: describe(issue),
  }));
}

/**
 * Validations carry the phrase this codebase gave them (`'a date-time'`), which never quotes input;
 * valibot's own messages do (`… but received "x"`), so for types only the expectation is kept.
 */
function describe(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === 'validation' && !/received/i.test(issue.message)) return `expected ${issue.message}`;
  return issue.expected ? `expected ${issue.expected}` : `failed ${issue.type} check`;
}

/** A string that `Date.parse` understands; the stored value is normalised by the mapping. */
export const dateTime = v.pipe(
  v.string(),
  v.check((s) => !Number.isNaN(Date.parse(s)), 'a date-time'),
);

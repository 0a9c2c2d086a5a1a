import fc from 'fast-check';

/**
 * Hostile text for the CLI's output tests: what a provider (or anyone able to send a webhook)
 * could put in a stored value to take over the terminal of an operator reading it, and the
 * patterns that say whether output is safe. Shared by `output.test.ts` and `watch.test.ts`.
 */

/** What `visible` escapes: a terminal acts on these instead of showing them. */
export const acts = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
/** The same, but for the line breaks the CLI itself writes between lines. */
export const actsBesidesNewline = /(?!\n)[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** Sequences a stored value may carry to take over a terminal. */
export const attacks = [
  '\u001b[2J\u001b[HOWNED', // clear the screen, cursor home
  '\n\u001b[1A\u001b[2Kforged line', // a new line, then up one and erase it
  '\u001b]8;;https://evil.example/\u001b\\click here\u001b]8;;\u001b\\', // OSC 8 hyperlink
  '\u001b]0;window title\u0007', // OSC 0, BEL-terminated
  '\u009b31m', // C1 CSI
  '\u0085next line', // C1 NEL
  '\u202eevil\u202c', // right-to-left override
  '\u2066\u2069\u200f\u061c',
  '\r\u2028\u2029\t\u0000\u007f',
];

/**
 * A stored value: any code points, the sequences above, and the same sequences after padding that
 * lands them on a column's cut.
 */
export const nasty = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom(...attacks),
      fc.tuple(fc.nat(40), fc.constantFrom(...attacks)).map(([n, attack]) => `${'x'.repeat(n)}${attack}`),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((parts) => parts.join(''));

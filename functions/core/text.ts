/**
 * Characters that act on a terminal instead of showing: the C0 controls (newline and ESC
 * included), DEL and the C1 controls (`\p{Cc}`), the Arabic letter mark and the left-to-right and
 * right-to-left marks (U+061C, U+200E/F), the line and paragraph separators (U+2028/9), and the
 * bidirectional embeddings, overrides and isolates (U+202A–E, U+2066–9). All are in the BMP.
 * Global: for `replace`; use {@link hasTerminalActive} to test.
 */
export const terminalActive = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const oneTerminalActive = new RegExp(terminalActive.source, 'u');

/** `true` when the text holds a character of {@link terminalActive}. */
export function hasTerminalActive(text: string): boolean {
  return oneTerminalActive.test(text);
}

/**
 * Each character of {@link terminalActive} as a JSON-style `\uXXXX` escape: inert on a terminal,
 * and inside a JSON string it reads back as the same character.
 */
export function escapeTerminalActive(text: string): string {
  return text.replace(
    terminalActive,
    (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`,
  );
}

/**
 * One one-edit typo of `name`, as fingers make them: `kind` 0 drops the letter at `at`, 1 doubles
 * it, 2 swaps it with the next. Used to try every command line's flags against typo suggestions.
 */
export function oneEditTypo(name: string, at: number, kind: number): string {
  if (kind === 0) return name.slice(0, at) + name.slice(at + 1);
  if (kind === 1) return name.slice(0, at) + name[at] + name.slice(at);
  return name.slice(0, at) + (name[at + 1] ?? '') + name[at] + name.slice(at + 2);
}

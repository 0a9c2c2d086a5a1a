/** Deeper than any real webhook and shallow enough for recursive code to stay far from the stack limit. */
export const maxJsonDepth = 64;

export type JsonObject = { [key: string]: unknown };

export type ParseResult = { ok: true; value: JsonObject } | { ok: false; detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Decodes and parses a webhook body: strict UTF-8, JSON, an object at the top, at most
 * `maxJsonDepth` levels deep. Never throws; the detail says precisely what is wrong without quoting
 * the body.
 */
export function parseJsonObject(raw: Uint8Array): ParseResult {
  if (raw.byteLength === 0) return { ok: false, detail: 'body is empty' };
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return { ok: false, detail: 'body is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const where = error instanceof SyntaxError ? /position \d+/.exec(error.message)?.[0] : undefined;
    return { ok: false, detail: `body is not valid JSON${where ? ` (at ${where})` : ''}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, detail: 'body must be a JSON object' };
  }
  if (depthExceeds(value, maxJsonDepth)) {
    return { ok: false, detail: `body is nested deeper than ${maxJsonDepth} levels` };
  }
  return { ok: true, value: value as JsonObject };
}

/** Iterative, so a hostile body cannot exhaust the stack while being measured. */
function depthExceeds(root: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * JSON with object keys sorted at every level: the same data gives the same text whatever order a
 * sender serialised it in. Only for values that passed `parseJsonObject` (bounded depth).
 */
export function canonicalJson(value: unknown): string {
  // Plain loops and string concatenation: this runs on every Zenbooker delivery, and building
  // intermediate arrays for map/join made it the largest part of ingest's CPU time.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${canonicalJson((value as JsonObject)[key])}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

import { isSafeNumber } from 'lossless-json';

/** Deeper than any real webhook and shallow enough for recursive code to stay far from the stack limit. */
export const maxJsonDepth = 64;

export type JsonObject = { [key: string]: unknown };

/**
 * A JSON number that a JavaScript number would not hold exactly: more significant digits than a
 * double keeps, an integer beyond ±(2^53 − 1), or a magnitude that overflows (`1e309`). Parsing
 * keeps its text instead of a rounded value, so nothing downstream can store it rounded or tell two
 * different numbers apart only by luck: a schema that wants a number refuses it (a quarantine issue
 * at its path), an identifier takes its text, and the canonical form writes the text.
 */
export class JsonNumber {
  /** @param text the number exactly as it was written in the body */
  constructor(readonly text: string) {}

  /**
   * The number's value as text that only the value decides: `<sign><digits>e<exponent>` with no
   * leading or trailing zeros, so `1e400`, `1E400` and `10e399`, or `…937` and `…937.0`, are one.
   */
  canonical(): string {
    const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(this.text);
    if (!match) return this.text;
    const [, sign = '', whole = '', fraction = '', power = '0'] = match;
    const digits = `${whole}${fraction}`.replace(/^0+/, '');
    const significant = digits.replace(/0+$/, '');
    if (significant === '') return '0';
    const exponent = Number(power) - fraction.length + (digits.length - significant.length);
    return `${sign}${significant}e${exponent}`;
  }
}

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
  if (mayHoldInexactNumber(text)) value = JSON.parse(text, keepInexactNumbers);
  return { ok: true, value: value as JsonObject };
}

/**
 * A number token can only lose something as a double if it has more than 15 significant digits
 * (16 or more characters of digits and a point) or an exponent. This cheap scan finds every such
 * token (and some look-alikes inside strings, which only cost a second parse); bodies without one,
 * nearly all of them, skip the reviver, which is several times slower than a plain parse.
 */
const suspectNumber = /[:[,]\s*-?(?:\d[\d.]{15}|[\d.]*[eE])/;

function mayHoldInexactNumber(text: string): boolean {
  return suspectNumber.test(text);
}

/**
 * Without source text access (Node before 21), the reviver could not tell `90071992547409937` from
 * its rounded value: fail at load rather than round silently. Node 22 and later have it.
 */
if (JSON.parse('1.0', (_key, value, context?: { source?: string }) => context?.source ?? value) !== '1.0') {
  throw new Error('JSON.parse source text access is missing: run on Node 22 or later');
}

/**
 * `JSON.parse` reviver: a number whose text a double does not reproduce becomes a
 * {@link JsonNumber}. Exactness is `lossless-json`'s `isSafeNumber` (significant digits compared,
 * integers within ±(2^53 − 1)); `context.source` is the ES2025 JSON.parse source text access
 * (V8 11.4+: Node 22 and later, so the Node 24 the functions run on).
 */
function keepInexactNumbers(this: unknown, _key: string, value: unknown, context?: { source?: string }) {
  if (typeof value !== 'number' || context?.source === undefined) return value;
  return isSafeNumber(context.source) ? value : new JsonNumber(context.source);
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
 * sender serialised it in. Numbers a double holds exactly are written as JavaScript writes them
 * (`1.0` and `1` are one value); a {@link JsonNumber} by its exact value (`JsonNumber.canonical`),
 * so two bodies share a canonical form exactly when their numbers have the same values. Only for values that passed
 * `parseJsonObject` (bounded depth).
 */
export function canonicalJson(value: unknown): string {
  if (value instanceof JsonNumber) return value.canonical();
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

import { afterEach, describe, expect, it, vi } from 'vitest';
import { canonicalJson, JsonNumber, type JsonObject, maxJsonDepth, parseJsonObject } from '#core/json';

const bytes = (text: string) => Buffer.from(text);

/** Exactly `levels` containers nested inside one another, alternating lists and objects, an object outermost. */
function nestedText(levels: number): string {
  let text = '1';
  for (let i = levels - 1; i >= 0; i--) text = i % 2 === 0 ? `{"k":${text}}` : `[${text}]`;
  return text;
}

describe('parseJsonObject', () => {
  it('parses a JSON object', () => {
    expect(parseJsonObject(bytes('{"a":[1,{"b":null}]}'))).toEqual({
      ok: true,
      value: { a: [1, { b: null }] },
    });
  });

  it.each<[string, Uint8Array, string]>([
    ['an empty body', bytes(''), 'body is empty'],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), 'body is not valid UTF-8'],
    [
      'a lone surrogate encoded as UTF-8',
      Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d]),
      'body is not valid UTF-8',
    ],
    ['a list', bytes('[]'), 'body must be a JSON object'],
    ['a number', bytes('42'), 'body must be a JSON object'],
    ['null', bytes('null'), 'body must be a JSON object'],
  ])('rejects %s', (_, raw, detail) => {
    expect(parseJsonObject(raw)).toEqual({ ok: false, detail });
  });

  it('says where the JSON breaks without quoting it', () => {
    const result = parseJsonObject(bytes('{"name":"PRIVATE-NAME" "x"}'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.detail).toMatch(/^body is not valid JSON( \(at position \d+\))?$/);
    expect(result.detail).not.toContain('PRIVATE-NAME');
  });

  it('counts lists and objects alike as levels', () => {
    expect(nestedText(3)).toBe('{"k":[{"k":1}]}');
  });

  it(`accepts ${maxJsonDepth} levels of nesting and rejects ${maxJsonDepth + 1}`, () => {
    expect(parseJsonObject(bytes(nestedText(maxJsonDepth))).ok).toBe(true);
    expect(parseJsonObject(bytes(nestedText(maxJsonDepth + 1)))).toEqual({
      ok: false,
      detail: `body is nested deeper than ${maxJsonDepth} levels`,
    });
  });

  it('measures a hostile depth without exhausting the stack', () => {
    const deep = `${'{"k":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    expect(parseJsonObject(bytes(deep))).toEqual({
      ok: false,
      detail: 'body is nested deeper than 64 levels',
    });
  });
});

/** The parsed value of a body, failing the test when it does not parse. */
function parsed(text: string): JsonObject {
  const result = parseJsonObject(bytes(text));
  if (!result.ok) throw new Error(`expected a JSON object, got: ${result.detail}`);
  return result.value;
}

describe('parseJsonObject: numbers a double does not hold exactly', () => {
  it.each([
    ['an integer just above 2^53 − 1', '9007199254740993'],
    ['2^64', '18446744073709551616'],
    ['a negative integer below −(2^53 − 1)', '-9007199254740993'],
    ['1e16, an integer written with an exponent', '1e16'],
    ['1e200', '1e200'],
    ['an integer written as a fraction beyond 2^53', '9007199254740993.0'],
    ['a fraction with more digits than a double keeps', '1.0000000000000001'],
    ['a long fraction', '3.14159265358979323846264338327950288'],
    ['a magnitude that overflows to Infinity', '1e309'],
    ['a negative overflow', '-1e309'],
    ['an underflow to zero', '1e-400'],
    ['a job number a double would round', '90071992547409937'],
  ])('keeps %s as a JsonNumber with its exact text', (_, text) => {
    const value = parsed(`{"n":${text}}`);
    expect(value.n).toBeInstanceOf(JsonNumber);
    expect((value.n as JsonNumber).text).toBe(text);
  });

  it('keeps such a number wherever it is: in a list, in a nested object, with blanks around it', () => {
    const value = parsed('{"a":[1, \n18446744073709551617],"b":{"c":\t1e309 }}');
    expect(value).toEqual({
      a: [1, new JsonNumber('18446744073709551617')],
      b: { c: new JsonNumber('1e309') },
    });
  });

  it.each([
    ['2^53 − 1', '9007199254740991', 9007199254740991],
    ['−(2^53 − 1)', '-9007199254740991', -9007199254740991],
    ['a 16-digit integer below 2^53', '1234567890123456', 1234567890123456],
    ['0.1', '0.1', 0.1],
    ['the shortest text of 0.1 + 0.2', '0.30000000000000004', 0.30000000000000004],
    ['1e-200, which a double holds', '1e-200', 1e-200],
    ['1.5e-7', '1.5e-7', 1.5e-7],
    ['462.0', '462.0', 462],
    ['-0', '-0', -0],
  ])('keeps %s a plain number', (_, text, number) => {
    expect(parsed(`{"n":${text}}`).n).toBe(number);
  });

  it('leaves strings that look like long numbers alone', () => {
    expect(parsed('{"id":"18446744073709551617","t":"x: 1e309"}')).toEqual({
      id: '18446744073709551617',
      t: 'x: 1e309',
    });
  });

  describe('fast path', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it('parses a body without long numbers or exponents once, to plain numbers', () => {
      const parse = vi.spyOn(JSON, 'parse');
      const text = '{"total":462.5,"n":[0,-1,123456789012345,0.25],"s":"1e999","deep":{"k":42}}';
      expect(parsed(text)).toEqual({
        total: 462.5,
        n: [0, -1, 123456789012345, 0.25],
        s: '1e999',
        deep: { k: 42 },
      });
      expect(parse).toHaveBeenCalledTimes(1);
      expect(parse.mock.calls[0]?.[1]).toBeUndefined();
    });

    it('parses a body with a long number a second time, keeping its text', () => {
      const parse = vi.spyOn(JSON, 'parse');
      expect(parsed('{"n":9007199254740993}').n).toEqual(new JsonNumber('9007199254740993'));
      expect(parse).toHaveBeenCalledTimes(2);
    });
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every level and keeps list order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same text for the same data in any key order', () => {
    expect(canonicalJson(JSON.parse('{"x":1,"y":{"p":true,"q":"s"}}'))).toBe(
      canonicalJson(JSON.parse('{"y":{"q":"s","p":true},"x":1}')),
    );
  });

  it('gives different text for different data', () => {
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });
});

describe('canonicalJson of numbers a double does not hold exactly', () => {
  it('writes a JsonNumber by its exact value', () => {
    expect(canonicalJson(parsed('{"b":1e309,"a":[18446744073709551617]}'))).toBe(
      '{"a":[18446744073709551617e0],"b":1e309}',
    );
  });

  it.each([
    ['1e400', '1E400'],
    ['1e400', '10e399'],
    ['1e400', '0.1e401'],
    ['90071992547409937', '90071992547409937.0'],
    ['90071992547409937', '9007199254740993.7e1'],
    ['-1e309', '-1.000e309'],
  ])('gives %s and %s, one value written two ways, one canonical form', (a, b) => {
    expect(canonicalJson(parsed(`{"n":${a}}`))).toBe(canonicalJson(parsed(`{"n":${b}}`)));
  });

  it('tells 2^64 from 2^64 + 1', () => {
    expect(canonicalJson(parsed('{"n":18446744073709551616}'))).not.toBe(
      canonicalJson(parsed('{"n":18446744073709551617}')),
    );
  });

  it('tells 1e309 from null', () => {
    expect(canonicalJson(parsed('{"n":1e309}'))).not.toBe(canonicalJson(parsed('{"n":null}')));
  });

  it('tells 1e309 from -1e309 and from 1e310', () => {
    const texts = ['1e309', '-1e309', '1e310'].map((n) => canonicalJson(parsed(`{"n":${n}}`)));
    expect(new Set(texts).size).toBe(3);
  });

  it('tells 1.0000000000000001 from 1', () => {
    expect(canonicalJson(parsed('{"n":1.0000000000000001}'))).not.toBe(canonicalJson(parsed('{"n":1}')));
  });

  it('still writes one value one way when a double holds it: 462.0 and 462', () => {
    expect(canonicalJson(parsed('{"n":462.0}'))).toBe(canonicalJson(parsed('{"n":462}')));
  });
});

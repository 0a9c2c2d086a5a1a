import { describe, expect, it } from 'vitest';
import { canonicalJson, maxJsonDepth, parseJsonObject } from '#core/json';

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

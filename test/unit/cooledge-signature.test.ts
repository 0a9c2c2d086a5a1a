import { describe, expect, it } from 'vitest';
import type { SignatureScheme } from '#core/config';
import { type SignatureInput, sign, verifySignature } from '#providers/cooledge';

// Known vectors, computed outside this code base:
//   printf '%s' "$body"              | openssl dgst -sha256 -hmac "$secret"   (plain)
//   printf '%s' "1750000000.$body"   | openssl dgst -sha256 -hmac "$secret"   (timestamped)
const secret = 'whsec_known_vector_secret_0001';
const body = Buffer.from('{"event_id":"evt_known","event_type":"job.completed"}');
const t = 1_750_000_000;
const at = (unixSeconds: number) => new Date(unixSeconds * 1000);
const plainHex = 'e855c9330753fa0cc9619e404560702ff6c704889ab7489078ed79114200fa9e';
const timestampedHex = '9ba981cf004d31c8df7d05a4b028dd32c76da48abab5f213a708be97ca8e12a2';

const otherSecret = 'whsec_some_other_secret_9999';
const tolerance = 300;

function verify(
  scheme: SignatureScheme,
  header: string | undefined,
  overrides: Partial<SignatureInput> = {},
) {
  return verifySignature({
    header,
    rawBody: body,
    secrets: [secret],
    scheme,
    toleranceSeconds: tolerance,
    now: at(t),
    ...overrides,
  });
}

const rejected = (reason: string) => ({ ok: false, reason });

describe('Cooledge signature, timestamped form (t=<unix>,v1=<hex> over "<t>.<raw body>")', () => {
  const header = `t=${t},v1=${timestampedHex}`;

  it('accepts the known vector', () => {
    expect(verify('timestamped', header)).toEqual({ ok: true });
  });

  it('signs the known vector the same way', () => {
    expect(sign(body, secret, 'timestamped', at(t))).toBe(header);
  });

  it('rejects a signature made with another secret', () => {
    expect(verify('timestamped', sign(body, otherSecret, 'timestamped', at(t)))).toEqual(
      rejected('signature mismatch'),
    );
  });

  it('rejects a truncated signature', () => {
    expect(verify('timestamped', `t=${t},v1=${timestampedHex.slice(0, -1)}`)).toEqual(
      rejected('signature malformed'),
    );
  });

  it('rejects the right signature in upper-case hex', () => {
    expect(verify('timestamped', `t=${t},v1=${timestampedHex.toUpperCase()}`)).toEqual(
      rejected('signature malformed'),
    );
  });

  it('rejects an empty header', () => {
    expect(verify('timestamped', '')).toEqual(rejected('signature missing'));
  });

  it('rejects a header of blanks', () => {
    expect(verify('timestamped', '   ')).toEqual(rejected('signature missing'));
  });

  it('rejects a missing header', () => {
    expect(verify('timestamped', undefined)).toEqual(rejected('signature missing'));
  });

  it('rejects a timestamp older than the tolerance', () => {
    expect(verify('timestamped', header, { now: at(t + tolerance + 1) })).toEqual(
      rejected('signature timestamp outside tolerance'),
    );
  });

  it('rejects a timestamp further in the future than the tolerance', () => {
    expect(verify('timestamped', header, { now: at(t - tolerance - 1) })).toEqual(
      rejected('signature timestamp outside tolerance'),
    );
  });

  it('accepts a timestamp exactly at the tolerance, in the past and in the future', () => {
    expect(verify('timestamped', header, { now: at(t + tolerance) })).toEqual({ ok: true });
    expect(verify('timestamped', header, { now: at(t - tolerance) })).toEqual({ ok: true });
  });

  it('rejects a timestamp a millisecond past the tolerance', () => {
    expect(verify('timestamped', header, { now: new Date((t + tolerance) * 1000 + 1) })).toEqual(
      rejected('signature timestamp outside tolerance'),
    );
  });

  it('honours the configured tolerance', () => {
    expect(verify('timestamped', header, { now: at(t + 61), toleranceSeconds: 60 })).toEqual(
      rejected('signature timestamp outside tolerance'),
    );
    expect(verify('timestamped', header, { now: at(t + 3_000), toleranceSeconds: 3_600 })).toEqual({
      ok: true,
    });
  });

  it('rejects a signature whose timestamp was moved forward to dodge the tolerance', () => {
    const replayed = `t=${t + 600},v1=${timestampedHex}`;
    expect(verify('timestamped', replayed, { now: at(t + 600) })).toEqual(rejected('signature mismatch'));
  });

  it.each([
    ['not a number', `t=abc,v1=${timestampedHex}`],
    ['empty', `t=,v1=${timestampedHex}`],
    ['fractional', `t=${t}.5,v1=${timestampedHex}`],
    ['negative', `t=-${t},v1=${timestampedHex}`],
    ['longer than 12 digits', `t=0${String(t).padStart(12, '0')},v1=${timestampedHex}`],
    ['absent', `v1=${timestampedHex}`],
  ])('rejects a malformed timestamp (%s)', (_, malformed) => {
    expect(verify('timestamped', malformed)).toEqual(rejected('signature malformed'));
  });

  it('rejects two timestamps, as when the header was sent twice and joined with a comma', () => {
    const twice = `${header},${sign(body, secret, 'timestamped', at(t + 1))}`;
    expect(verify('timestamped', twice)).toEqual(rejected('signature malformed'));
  });

  it('rejects a timestamp without any v1 signature', () => {
    expect(verify('timestamped', `t=${t}`)).toEqual(rejected('signature malformed'));
  });

  it('ignores signature versions it does not know', () => {
    expect(verify('timestamped', `t=${t},v0=${timestampedHex}`)).toEqual(rejected('signature malformed'));
    expect(verify('timestamped', `t=${t},v0=${'0'.repeat(64)},v1=${timestampedHex}`)).toEqual({ ok: true });
  });

  it('accepts several v1 signatures when one of them matches', () => {
    const other = sign(body, otherSecret, 'timestamped', at(t)).split(',')[1];
    expect(verify('timestamped', `t=${t},${other},v1=${timestampedHex}`)).toEqual({ ok: true });
    expect(verify('timestamped', `t=${t},v1=${timestampedHex},${other}`)).toEqual({ ok: true });
  });

  it('rejects several v1 signatures when none matches', () => {
    const a = sign(body, otherSecret, 'timestamped', at(t)).split(',')[1];
    expect(verify('timestamped', `t=${t},${a},v1=${'a'.repeat(64)}`)).toEqual(rejected('signature mismatch'));
  });

  it('accepts a signature made with the second active secret (rotation)', () => {
    expect(verify('timestamped', header, { secrets: [otherSecret, secret] })).toEqual({ ok: true });
  });

  it('rejects every signature when no secret is active', () => {
    expect(verify('timestamped', header, { secrets: [] })).toEqual(rejected('signature mismatch'));
  });

  it('accepts whitespace around the header and its parts', () => {
    expect(verify('timestamped', `  t=${t} ,  v1=${timestampedHex}  `)).toEqual({ ok: true });
  });

  it('rejects the plain form when the timestamped form is configured', () => {
    expect(verify('timestamped', `sha256=${plainHex}`)).toEqual(rejected('signature malformed'));
  });

  it('rejects a body changed by one byte', () => {
    const changed = Buffer.from(body.toString().replace('evt_known', 'evt_knowN'));
    expect(verify('timestamped', header, { rawBody: changed })).toEqual(rejected('signature mismatch'));
  });

  it('rejects the same JSON serialised differently (the raw bytes are what is signed)', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    expect(verify('timestamped', header, { rawBody: reserialised })).toEqual(rejected('signature mismatch'));
  });

  it('verifies bodies that are not valid UTF-8 byte for byte', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    expect(verify('timestamped', sign(bytes, secret, 'timestamped', at(t)), { rawBody: bytes })).toEqual({
      ok: true,
    });
  });
});

describe('Cooledge signature, plain form (<hex> or sha256=<hex> over the raw body)', () => {
  it('accepts the known vector as bare hex', () => {
    expect(verify('plain', plainHex)).toEqual({ ok: true });
  });

  it('accepts the known vector with the sha256= prefix', () => {
    expect(verify('plain', `sha256=${plainHex}`)).toEqual({ ok: true });
  });

  it('signs the known vector the same way', () => {
    expect(sign(body, secret, 'plain')).toBe(`sha256=${plainHex}`);
  });

  it('does not apply a timestamp tolerance', () => {
    expect(verify('plain', plainHex, { now: at(t + 10 * 365 * 86_400) })).toEqual({ ok: true });
  });

  it('rejects a signature made with another secret', () => {
    expect(verify('plain', sign(body, otherSecret, 'plain'))).toEqual(rejected('signature mismatch'));
  });

  it('rejects a truncated signature', () => {
    expect(verify('plain', plainHex.slice(0, 63))).toEqual(rejected('signature malformed'));
  });

  it('rejects a signature with an extra character', () => {
    expect(verify('plain', `${plainHex}0`)).toEqual(rejected('signature malformed'));
  });

  it('rejects the right signature in upper-case hex', () => {
    expect(verify('plain', plainHex.toUpperCase())).toEqual(rejected('signature malformed'));
    expect(verify('plain', `sha256=${plainHex.toUpperCase()}`)).toEqual(rejected('signature malformed'));
  });

  it('rejects an upper-case prefix', () => {
    expect(verify('plain', `SHA256=${plainHex}`)).toEqual(rejected('signature malformed'));
  });

  it('rejects an empty header', () => {
    expect(verify('plain', '')).toEqual(rejected('signature missing'));
  });

  it('rejects a missing header', () => {
    expect(verify('plain', undefined)).toEqual(rejected('signature missing'));
  });

  it('rejects the prefix alone', () => {
    expect(verify('plain', 'sha256=')).toEqual(rejected('signature malformed'));
  });

  it('accepts a signature made with the second active secret (rotation)', () => {
    expect(verify('plain', plainHex, { secrets: [otherSecret, secret] })).toEqual({ ok: true });
  });

  it('accepts whitespace around the header', () => {
    expect(verify('plain', `  sha256=${plainHex} `)).toEqual({ ok: true });
  });

  it('rejects the timestamped form when the plain form is configured', () => {
    expect(verify('plain', `t=${t},v1=${timestampedHex}`)).toEqual(rejected('signature malformed'));
  });

  it('rejects a body changed by one byte', () => {
    const changed = Buffer.concat([body, Buffer.from(' ')]);
    expect(verify('plain', plainHex, { rawBody: changed })).toEqual(rejected('signature mismatch'));
  });
});

import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Lesson } from '../../propose/context/lesson.js';
import {
  canonicalJson,
  contentBytes,
  ENVELOPE_FORMAT,
  LEGACY_FORMAT,
  lessonDigest,
  MAX_ENVELOPE_BYTES,
  openEnvelope,
  sealLesson,
  type TrustedSigner,
} from './envelope.js';
import { fingerprintOf } from './keys.js';

function keyPair(name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const fingerprint = fingerprintOf(publicKey);
  const signer: TrustedSigner = { name, fingerprint, key: publicKey };
  return { privateKey, publicKey, fingerprint, signer };
}

const lesson = Lesson.parse({
  id: 'L0042',
  scope: 'database',
  when: 'the pool has one connection',
  prefer: 'at least 4 connections',
  because: 'one connection serialises every request',
  falsifiable: 'true iff p95 drops',
  source: 'human',
  status: 'active',
  created_at: '2026-05-30',
  action: { nested: { list: [1, 2.5, 'x', null, true] } },
});

const a = keyPair('alpha');
const other = keyPair('other');
const trusted = new Map([[a.fingerprint, a.signer]]);
const where = { folder: a.fingerprint, fileId: 'L0042' };

function envelopeText(overrides: Record<string, unknown> = {}): Buffer {
  const sealed = sealLesson(lesson, a, 1);
  return Buffer.from(JSON.stringify({ ...sealed.envelope, ...overrides }));
}

describe('canonicalJson', () => {
  it('sorts keys at every level, keeps list order, drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[3,1]},"b":1}',
    );
  });

  it.each([
    ['a non-finite number', { n: Number.NaN }],
    ['a date', { d: new Date(0) }],
    ['nesting 40 levels deep', JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown],
    ['undefined in a list', [undefined]],
  ])('refuses %s', (_what, value) => {
    expect(() => canonicalJson(value)).toThrow();
  });
});

describe('sealLesson and openEnvelope', () => {
  it('a sealed lesson opens against the trusted key, whatever the file formatting', () => {
    const sealed = sealLesson(lesson, a, 1);
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(sealed.text)));

    const opened = openEnvelope(Buffer.from(sealed.text), where, trusted);
    const again = openEnvelope(reformatted, where, trusted);

    expect(sealed.envelope).toMatchObject({ format: ENVELOPE_FORMAT, signer: a.fingerprint, version: 1 });
    expect(opened).toEqual({ ok: true, lesson, digest: lessonDigest(lesson), signer: a.signer, version: 1 });
    expect(again.ok).toBe(true);
  });

  it('signs the version with the lesson: a changed version does not verify, the digest is the content’s', () => {
    const v3 = sealLesson(lesson, a, 3);
    const lowered = v3.text.replace('"version": 3', '"version": 2');

    expect(openEnvelope(Buffer.from(v3.text), where, trusted)).toMatchObject({ ok: true, version: 3 });
    expect(v3.digest).toBe(sealLesson(lesson, a, 1).digest);
    expect(openEnvelope(Buffer.from(lowered), where, trusted)).toMatchObject({
      ok: false,
      kind: 'bad_signature',
    });
  });

  it('reads an unversioned envelope (from before versions) as version 0; a versioned one cannot pass for it', () => {
    const legacy = {
      format: LEGACY_FORMAT,
      signer: a.fingerprint,
      lesson: JSON.parse(canonicalJson(lesson)) as unknown,
      signature: sign(null, contentBytes(lesson), a.privateKey).toString('base64'),
    };
    const { version: _dropped, ...stripped } = {
      ...sealLesson(lesson, a, 5).envelope,
      format: LEGACY_FORMAT,
    };

    expect(openEnvelope(Buffer.from(JSON.stringify(legacy)), where, trusted)).toEqual({
      ok: true,
      lesson,
      digest: lessonDigest(lesson),
      signer: a.signer,
      version: 0,
    });
    expect(openEnvelope(Buffer.from(JSON.stringify(stripped)), where, trusted)).toMatchObject({
      ok: false,
      kind: 'bad_signature',
    });
  });

  it('refuses a version that is not a whole number from 1 up, and a versioned envelope without one', () => {
    for (const version of [0, -1, 1.5, '2', undefined]) {
      expect(openEnvelope(envelopeText({ version }), where, trusted), String(version)).toMatchObject({
        ok: false,
        kind: 'malformed',
      });
    }
  });

  it('signs deterministically: the same lesson gives the same file', () => {
    expect(sealLesson(lesson, a, 1).text).toBe(sealLesson(lesson, a, 1).text);
  });

  it('refuses a changed lesson: the signature does not verify', () => {
    const sealed = sealLesson(lesson, a, 1);
    const changed = sealed.text.replace('at least 4 connections', 'exactly 1 connection');

    const opened = openEnvelope(Buffer.from(changed), where, trusted);

    expect(opened).toMatchObject({
      ok: false,
      kind: 'bad_signature',
      reason:
        'signature does not verify against trusted key "alpha": the file was changed after it was signed',
    });
  });

  it('refuses an envelope signed by another key that claims the trusted signer', () => {
    const forged = sealLesson(lesson, { privateKey: other.privateKey, fingerprint: a.fingerprint }, 1);

    expect(openEnvelope(Buffer.from(forged.text), where, trusted)).toMatchObject({
      ok: false,
      kind: 'bad_signature',
    });
  });

  it('refuses a key that is not trusted, and an envelope in another signer’s folder', () => {
    const sealed = sealLesson(lesson, other, 1);

    const untrusted = openEnvelope(
      Buffer.from(sealed.text),
      { folder: other.fingerprint, fileId: 'L0042' },
      trusted,
    );
    const moved = openEnvelope(Buffer.from(sealed.text), where, trusted);

    expect(untrusted).toMatchObject({ ok: false, kind: 'untrusted' });
    expect(moved).toMatchObject({
      ok: false,
      kind: 'wrong_folder',
      reason: `it says it was signed by ${other.fingerprint} but sits in the folder of ${a.fingerprint}: an envelope lives only in its signer's folder`,
    });
  });

  it('refuses a file named after another lesson', () => {
    expect(openEnvelope(envelopeText(), { ...where, fileId: 'L0043' }, trusted)).toMatchObject({
      ok: false,
      kind: 'id_mismatch',
    });
  });

  it('refuses a correctly signed object that is not a valid lesson', () => {
    const bad = { ...lesson, status: 'maybe' } as unknown as Lesson;
    const sealed = sealLesson(bad, a, 1);

    expect(openEnvelope(Buffer.from(sealed.text), where, trusted)).toMatchObject({
      ok: false,
      kind: 'invalid_lesson',
      reason: expect.stringMatching(/^it is signed, but not a valid lesson: status: /) as unknown,
      // Its signer vouched for version 1 of L0042: the replay rule counts it as seen.
      version: 1,
    });
  });

  it.each<[string, Buffer, string]>([
    ['no signature', envelopeText({ signature: undefined }), 'unsigned'],
    ['an empty signature', envelopeText({ signature: '' }), 'unsigned'],
    ['a signature that is not base64 of 64 bytes', envelopeText({ signature: 'abc' }), 'malformed'],
    ['another format', envelopeText({ format: 'kaizen-lesson-v0' }), 'malformed'],
    ['an extra key', envelopeText({ comment: 'hi' }), 'malformed'],
    ['a lesson that is a list', envelopeText({ lesson: [] }), 'malformed'],
    ['not JSON', Buffer.from('{"format":'), 'malformed'],
    ['JSON that is not an object', Buffer.from('[1,2]'), 'malformed'],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x7b]), 'malformed'],
    ['a huge file', Buffer.alloc(MAX_ENVELOPE_BYTES + 1, 0x20), 'too_large'],
    [
      'a __proto__ key in the lesson',
      Buffer.from(envelopeText().toString().replace('"action":', '"__proto__":{"x":1},"action":')),
      'bad_signature',
    ],
  ])('refuses an envelope with %s', (_what, bytes, kind) => {
    expect(openEnvelope(bytes, where, trusted)).toMatchObject({ ok: false, kind });
  });
});

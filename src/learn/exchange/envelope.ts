import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { compareStrings, Lesson } from '../../propose/context/lesson.js';
import { FINGERPRINT, type SigningKey } from './keys.js';

/*
 * A signed lesson on the wire: one JSON file `<signer fingerprint>/<lesson id>.json` on the shared
 * branch, holding the lesson, its version, who signed it and the Ed25519 signature.
 *
 * What is signed is `kaizen-lesson-v2\n` followed by `{"lesson":…,"version":N}` as canonical JSON
 * (keys sorted by code unit, no whitespace). The prefix keeps a lesson signature from ever being
 * mistaken for a signature over anything else made with the same key; canonical JSON makes the
 * signed bytes independent of how the file happens to be formatted, so only a change of content
 * breaks it. The version is signed with the lesson (issue 18): its signer raises it with every
 * version it exports, and an importer refuses any envelope older than the newest it has seen from
 * that key for that lesson, so an old envelope put back on the branch cannot revive a lesson that
 * was since changed or retired, whether or not the importer ever saw the old one.
 *
 * Envelopes of before versions (`kaizen-lesson-v1`: the lesson alone was signed, after the prefix
 * `kaizen-lesson-v1\n`) are still read, as version 0: below every versioned envelope, so one is
 * refused once a versioned envelope of that lesson from that key has been seen. They are never
 * written any more. The two prefixes differ, so a versioned signature can never be passed off as
 * an unversioned one by dropping the version.
 *
 * Everything in an envelope comes from another system and is untrusted until the signature has
 * verified against a key the operator configured: the file's size is bounded, its shape and the
 * lesson are checked with zod, the id must match the file name (ids cannot name another folder),
 * and nothing in it is ever run.
 */

export const ENVELOPE_FORMAT = 'kaizen-lesson-v2';
/** The unversioned format of before issue 18: read as version 0, never written. */
export const LEGACY_FORMAT = 'kaizen-lesson-v1';
const DOMAIN = `${ENVELOPE_FORMAT}\n`;
const LEGACY_DOMAIN = `${LEGACY_FORMAT}\n`;
/** Larger files are refused unread: a lesson is a few hundred bytes. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
/** Deeper nesting is refused (a lesson's `action` is the only nested part, a few levels deep). */
const MAX_DEPTH = 32;

const Signer = z.string().regex(FINGERPRINT, 'expected a key fingerprint of 16 hex digits');
const LessonObject = z.record(z.string(), z.unknown());
const Signature = z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'expected a base64 Ed25519 signature (64 bytes)');

/** A versioned envelope: what kaizen writes. */
export const Envelope = z.strictObject({
  format: z.literal(ENVELOPE_FORMAT),
  signer: Signer,
  /** 1 for the first version its signer exported, one more (at least) for each later one. */
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  lesson: LessonObject,
  signature: Signature,
});
export type Envelope = z.infer<typeof Envelope>;

/** An envelope of before versions. */
const LegacyEnvelope = z.strictObject({
  format: z.literal(LEGACY_FORMAT),
  signer: Signer,
  lesson: LessonObject,
  signature: Signature,
});

const AnyEnvelope = z.discriminatedUnion('format', [Envelope, LegacyEnvelope]);

/** JSON with object keys sorted and no whitespace: the same value always gives the same bytes. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new Error(`nested more than ${MAX_DEPTH} levels deep`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${value} is not a JSON number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value
      .map((v: unknown) => {
        if (v === undefined) throw new Error('a list holds an undefined value');
        return canonicalJson(v, depth + 1);
      })
      .join(',')}]`;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new Error('not a plain object');
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareStrings(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
  }
  throw new Error(`a ${typeof value} is not JSON`);
}

/** The bytes a versioned envelope's signature covers: the lesson and its version, together. */
export function signedBytes(lesson: unknown, version: number): Buffer {
  return Buffer.from(DOMAIN + canonicalJson({ lesson, version }), 'utf8');
}

/**
 * A lesson's content as bytes (what an unversioned envelope signed). Its sha256 is the lesson's
 * digest: the same content has the same digest whatever the version it was signed as.
 */
export function contentBytes(lesson: unknown): Buffer {
  return Buffer.from(LEGACY_DOMAIN + canonicalJson(lesson), 'utf8');
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The digest the exchange ledger keeps for a lesson: sha256 of its content bytes. */
export function lessonDigest(lesson: Lesson): string {
  return sha256(contentBytes(lesson));
}

export interface Sealed {
  envelope: Envelope;
  /** The file's text (pretty JSON, lesson keys sorted, so diffs on the shared branch read well). */
  text: string;
  /** The lesson's digest (of its content, see lessonDigest). */
  digest: string;
}

/** Sign a lesson as `version` with this system's key. */
export function sealLesson(
  lesson: Lesson,
  key: Pick<SigningKey, 'privateKey' | 'fingerprint'>,
  version: number,
): Sealed {
  const envelope: Envelope = {
    format: ENVELOPE_FORMAT,
    signer: key.fingerprint,
    version,
    lesson: JSON.parse(canonicalJson(lesson)) as Record<string, unknown>,
    signature: sign(null, signedBytes(lesson, version), key.privateKey).toString('base64'),
  };
  return { envelope, text: `${JSON.stringify(envelope, null, 2)}\n`, digest: lessonDigest(lesson) };
}

/** A key the operator trusts, by fingerprint. */
export interface TrustedSigner {
  name: string;
  fingerprint: string;
  key: KeyObject;
}

/** Why an envelope was refused. */
export type RefusalKind =
  | 'too_large'
  | 'malformed'
  | 'unsigned'
  | 'wrong_folder'
  | 'untrusted'
  | 'bad_signature'
  | 'invalid_lesson'
  | 'id_mismatch';

export type Opened =
  | {
      ok: true;
      lesson: Lesson;
      digest: string;
      signer: TrustedSigner;
      /** The version signed with the lesson; 0 for an unversioned envelope. */
      version: number;
    }
  | {
      ok: false;
      kind: RefusalKind;
      reason: string;
      digest: string;
      /**
       * Set when the signature verified and the signed lesson claims the file's id, though it was
       * refused (not a valid lesson here): the version its signer vouched for, still a version seen.
       */
      version?: number;
    };

/**
 * Check one envelope file found in the folder `folder` (which names its signer) under the name
 * `<fileId>.json`. The signature is verified before the lesson is even parsed as a lesson, over the
 * lesson exactly as found, against the trusted key whose fingerprint the folder names.
 */
export function openEnvelope(
  bytes: Buffer,
  where: { folder: string; fileId: string },
  trusted: ReadonlyMap<string, TrustedSigner>,
): Opened {
  const fileDigest = sha256(bytes);
  const refuse = (kind: RefusalKind, reason: string, digest = fileDigest, version?: number): Opened => ({
    ok: false,
    kind,
    reason,
    digest,
    ...(version === undefined ? {} : { version }),
  });
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    return refuse(
      'too_large',
      `the file is ${bytes.length} bytes, more than the ${MAX_ENVELOPE_BYTES} a lesson may have`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return refuse('malformed', `not a lesson envelope: not valid JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return refuse('malformed', 'not a lesson envelope: expected a JSON object');
  }
  const signature = (raw as Record<string, unknown>).signature;
  if (signature === undefined || signature === null || signature === '') {
    return refuse(
      'unsigned',
      'it is not signed (no signature): kaizen imports only lessons signed by a key in exchange.trustedKeys',
    );
  }
  const parsed = AnyEnvelope.safeParse(raw);
  if (!parsed.success) {
    return refuse('malformed', `not a lesson envelope: ${issues(parsed.error)}`);
  }
  const envelope = parsed.data;
  if (envelope.signer !== where.folder) {
    return refuse(
      'wrong_folder',
      `it says it was signed by ${envelope.signer} but sits in the folder of ${where.folder}: an envelope lives only in its signer's folder`,
    );
  }
  const signer = trusted.get(envelope.signer);
  if (!signer) {
    return refuse(
      'untrusted',
      `it is signed by key ${envelope.signer}, which is not in exchange.trustedKeys: if you trust that system, add the public key its "kaizen keys init" printed`,
    );
  }
  // The lesson as found in the file (not zod's copy of it): exactly what the signature must cover.
  const found = (raw as Record<string, unknown>).lesson;
  const version = envelope.format === ENVELOPE_FORMAT ? envelope.version : 0;
  let bytesSigned: Buffer;
  let digest: string;
  try {
    bytesSigned = version === 0 ? contentBytes(found) : signedBytes(found, version);
    digest = sha256(contentBytes(found));
  } catch (err) {
    return refuse(
      'malformed',
      `not a lesson envelope: the lesson is not plain JSON (${(err as Error).message})`,
    );
  }
  let verified: boolean;
  try {
    verified = verify(null, bytesSigned, signer.key, Buffer.from(envelope.signature, 'base64'));
  } catch {
    verified = false;
  }
  if (!verified) {
    return refuse(
      'bad_signature',
      `signature does not verify against trusted key "${signer.name}": the file was changed after it was signed`,
      digest,
    );
  }
  const lesson = Lesson.safeParse(found);
  if (!lesson.success) {
    const claimsId = (found as Record<string, unknown>).id === where.fileId;
    return refuse(
      'invalid_lesson',
      `it is signed, but not a valid lesson: ${issues(lesson.error)}`,
      digest,
      claimsId ? version : undefined,
    );
  }
  if (lesson.data.id !== where.fileId) {
    return refuse(
      'id_mismatch',
      `the file is named ${where.fileId}.json but holds lesson ${lesson.data.id}: an envelope is named after its lesson`,
      digest,
    );
  }
  return { ok: true, lesson: lesson.data, digest, signer, version };
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
    .join('; ');
}

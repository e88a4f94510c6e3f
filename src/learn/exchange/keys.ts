import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KaizenError } from '../../errors.js';
import { syncDirectory } from '../../util/atomic-file.js';

/*
 * The Ed25519 key pair that signs this system's exported lessons. The private key is a PKCS#8 PEM
 * file readable by its owner only (0600, in a 0700 folder); the public key file beside it is for
 * people: kaizen always derives the public key from the private one.
 *
 * Peers name a key by its fingerprint: the first 16 hex digits of the SHA-256 of the public key's
 * SPKI DER bytes. The fingerprint is an address (the shared branch's folder name), never proof:
 * signatures are checked against the whole public key from the config's trustedKeys.
 */

export const PRIVATE_KEY_FILE = 'lessons-ed25519.key';
export const PUBLIC_KEY_FILE = 'lessons-ed25519.pub';
/** 16 lower-case hex digits. */
export const FINGERPRINT = /^[0-9a-f]{16}$/;

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as base64 SPKI DER: what peers put in exchange.trustedKeys. */
  publicKeyBase64: string;
  fingerprint: string;
  /** The private key file. */
  file: string;
}

export interface KeyPairWritten {
  fingerprint: string;
  publicKey: string;
  privateKeyFile: string;
  publicKeyFile: string;
  /** The fingerprint of the key pair this one replaced (with --force). */
  replaced?: string;
}

export function fingerprintOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export function publicKeyBase64(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

/**
 * A public key as the config holds it: base64 of the SPKI DER bytes (what `kaizen keys init`
 * prints), or a PEM block. Throws an Error saying what is wrong; only Ed25519 keys are accepted.
 */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      key = createPublicKey({ key: trimmed, format: 'pem' });
    } else {
      const compact = trimmed.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new Error('not base64');
      key = createPublicKey({ key: Buffer.from(compact, 'base64'), format: 'der', type: 'spki' });
    }
  } catch {
    throw new Error(
      'expected an Ed25519 public key: the base64 text "kaizen keys init" prints (or a PEM block)',
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `expected an Ed25519 public key, got a key of type ${key.asymmetricKeyType ?? 'unknown'}`,
    );
  }
  return key;
}

/** The signing key in `keyDir`, or KEY_MISSING saying to run `kaizen keys init`. */
export function loadSigningKey(keyDir: string): SigningKey {
  const file = path.join(keyDir, PRIVATE_KEY_FILE);
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KaizenError(
        'KEY_MISSING',
        `no signing key at ${file}: run "kaizen keys init" first, and give peers the public key it prints`,
      );
    }
    throw new KaizenError(
      'KEY_MISSING',
      `the signing key ${file} cannot be read: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new KaizenError(
      'KEY_MISSING',
      `${file} is not a PEM private key: replace it with "kaizen keys init --force" (peers must then be sent the new public key)`,
      { cause: err },
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new KaizenError(
      'KEY_MISSING',
      `${file} holds a key of type ${privateKey.asymmetricKeyType ?? 'unknown'}, not an Ed25519 one: replace it with "kaizen keys init --force"`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  return {
    privateKey,
    publicKey,
    publicKeyBase64: publicKeyBase64(publicKey),
    fingerprint: fingerprintOf(publicKey),
    file,
  };
}

/** The signing key's fingerprint when there is one (sync uses it to skip its own folder). */
export function ownFingerprint(keyDir: string): string | undefined {
  if (!fs.existsSync(path.join(keyDir, PRIVATE_KEY_FILE))) return undefined;
  return loadSigningKey(keyDir).fingerprint;
}

/**
 * Make a new key pair in `keyDir`. An existing one is kept (KEY_EXISTS) unless `force`: replacing
 * it orphans what peers trust, so the message says so.
 */
export function generateSigningKey(keyDir: string, options: { force?: boolean } = {}): KeyPairWritten {
  const privateKeyFile = path.join(keyDir, PRIVATE_KEY_FILE);
  const publicKeyFile = path.join(keyDir, PUBLIC_KEY_FILE);
  let replaced: string | undefined;
  if (fs.existsSync(privateKeyFile)) {
    let existing: string;
    try {
      existing = loadSigningKey(keyDir).fingerprint;
    } catch {
      existing = 'unreadable';
    }
    if (!options.force) {
      throw new KaizenError(
        'KEY_EXISTS',
        `a signing key already exists at ${privateKeyFile} (fingerprint ${existing}); it was kept. "kaizen keys init --force" replaces it, and then every peer must be sent the new public key (they will not trust lessons signed with it until they add it to exchange.trustedKeys)`,
      );
    }
    replaced = existing;
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  fs.mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  writePrivate(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writePrivate(publicKeyFile, publicPem, 0o644);
  return {
    fingerprint: fingerprintOf(publicKey),
    publicKey: publicKeyBase64(publicKey),
    privateKeyFile,
    publicKeyFile,
    ...(replaced ? { replaced } : {}),
  };
}

/**
 * Write a file atomically, created with `mode` from the start (never readable by others, not even
 * for a moment, as a write-then-chmod would be), then renamed over the old one.
 */
function writePrivate(file: string, content: string, mode = 0o600): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.kaizen-${randomBytes(6).toString('hex')}.tmp`);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | (O_NOFOLLOW ?? 0), mode);
  try {
    try {
      fs.fchmodSync(fd, mode); // the umask may have taken bits away; never added any
      fs.writeFileSync(fd, content, 'utf8');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDirectory(dir);
}

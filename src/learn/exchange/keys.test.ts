import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KaizenError } from '../../errors.js';
import {
  generateSigningKey,
  loadSigningKey,
  ownFingerprint,
  parsePublicKey,
  PRIVATE_KEY_FILE,
} from './keys.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'kaizen-keys-'));
  dirs.push(d);
  return path.join(d, 'keys');
}

describe('the signing key pair', () => {
  it('is written private (0600 in a 0700 folder) and loads back with the same fingerprint', () => {
    const dir = temp();

    const made = generateSigningKey(dir);
    const loaded = loadSigningKey(dir);

    expect(made.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(loaded.fingerprint).toBe(made.fingerprint);
    expect(loaded.publicKeyBase64).toBe(made.publicKey);
    expect(ownFingerprint(dir)).toBe(made.fingerprint);
    expect(statSync(made.privateKeyFile).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('is not replaced without force', () => {
    const dir = temp();
    const first = generateSigningKey(dir);

    const refused = (() => {
      try {
        generateSigningKey(dir);
      } catch (err) {
        return err;
      }
    })();
    const second = generateSigningKey(dir, { force: true });

    expect(refused).toBeInstanceOf(KaizenError);
    expect((refused as KaizenError).code).toBe('KEY_EXISTS');
    expect(loadSigningKey(dir).fingerprint).toBe(second.fingerprint);
    expect(second.replaced).toBe(first.fingerprint);
  });

  it('missing or not Ed25519 is KEY_MISSING with what to do', () => {
    const dir = temp();
    expect(ownFingerprint(dir)).toBeUndefined();
    expect(() => loadSigningKey(dir)).toThrow(/run "kaizen keys init" first/);

    generateSigningKey(dir);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    writeFileSync(path.join(dir, PRIVATE_KEY_FILE), rsa.export({ type: 'pkcs8', format: 'pem' }));

    expect(() => loadSigningKey(dir)).toThrow(/holds a key of type rsa, not an Ed25519 one/);
  });
});

describe('parsePublicKey', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const base64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it.each([
    ['base64 SPKI', base64],
    ['base64 with line breaks', `${base64.slice(0, 20)}\n${base64.slice(20)}`],
    ['PEM', pem],
  ])('accepts %s', (_what, text) => {
    expect(parsePublicKey(text).equals(publicKey)).toBe(true);
  });

  it.each([
    ['garbage', 'not a key'],
    ['base64 of something else', Buffer.from('hello').toString('base64')],
    [
      'an RSA key',
      generateKeyPairSync('rsa', { modulusLength: 1024 })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
    ],
  ])('refuses %s', (_what, text) => {
    expect(() => parsePublicKey(text)).toThrow(/expected an Ed25519 public key/);
  });
});

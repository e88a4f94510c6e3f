import { loadConfig, resolveConfigPath } from '../config/load.js';
import { generateSigningKey } from '../learn/exchange/keys.js';
import { printJson, type Io } from './io.js';

export interface KeysInitOptions {
  config?: string;
  force?: boolean;
  json?: boolean;
}

/** `kaizen keys init`: make the Ed25519 key pair that signs exported lessons, print what peers need. */
export async function init(opts: KeysInitOptions, io: Io): Promise<void> {
  const config = loadConfig(resolveConfigPath(opts.config));
  const made = generateSigningKey(config.exchange.keyDir, { force: opts.force ?? false });
  if (opts.json) return printJson(io, made);
  io.out(
    [
      made.replaced
        ? `replaced the signing key ${made.replaced} with a new one: send peers the new public key below`
        : 'made the signing key for exported lessons',
      `private key  ${made.privateKeyFile} (mode 0600: it stays on this machine)`,
      `public key   ${made.publicKey}`,
      `fingerprint  ${made.fingerprint}`,
      '',
      'peers add this to exchange.trustedKeys in their kaizen.yaml (name it as you like):',
      `  - name: ${suggestName(config.targets[0]?.name)}`,
      `    publicKey: ${made.publicKey}`,
    ].join('\n'),
  );
}

function suggestName(target: string | undefined): string {
  return target ?? 'this-system';
}

import { takePidLock } from '../../util/pid-lock.js';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, KaizenError } from '../../errors.js';
import type { ExchangeDeps } from './export.js';
import { importFromBranch, type ImportResult } from './import.js';
import { FINGERPRINT, ownFingerprint } from './keys.js';
import { publishOutbox, type Published } from './shared-branch.js';

export interface SyncResult extends ImportResult {
  repo: string;
  branch: string;
  /** This system's key folders on the branch (from the outbox and the signing key). */
  own: string[];
  pushed: Published;
}

/** The private clone of the shared repository, and the lock one sync at a time holds. */
export function exchangeDir(dataDir: string): string {
  return path.join(dataDir, 'exchange');
}

/**
 * `kaizen lessons sync`: push the outbox to the shared branch, then import peers' lessons from it
 * (see publishOutbox and importFromBranch). One sync at a time per data folder.
 */
export async function syncLessons(deps: ExchangeDeps): Promise<SyncResult> {
  const { config } = deps;
  const { repo, branch, outbox, keyDir, timeoutMs } = config.exchange;
  if (!repo) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `exchange.repo is not set in ${config.configPath}: set it to the shared git repository (a URL, or a path) that this system and its peers exchange lessons through`,
    );
  }
  const base = exchangeDir(config.dataDir);
  fs.mkdirSync(base, { recursive: true });
  const release = takePidLock(
    path.join(base, 'sync.lock'),
    (pid) =>
      new KaizenError(
        'SYNC_FAILED',
        `another lesson sync is running (pid ${pid}, lock ${path.join(base, 'sync.lock')}): try again when it has finished`,
        { retryable: true },
      ),
  );
  try {
    const own = new Set<string>();
    const mine = ownFingerprint(keyDir);
    if (mine) own.add(mine);
    if (fs.existsSync(outbox)) {
      for (const e of fs.readdirSync(outbox, { withFileTypes: true })) {
        if (e.isDirectory() && FINGERPRINT.test(e.name)) own.add(e.name);
      }
    }
    const dir = path.join(base, 'shared');
    const pushed = await publishOutbox(
      { dir, repo, branch, timeoutMs, clock: deps.clock },
      [...own].map((f) => path.join(outbox, f)),
    );
    const imported = importFromBranch(deps, dir, own);
    return { repo, branch, own: [...own].sort(), pushed, ...imported };
  } finally {
    release();
  }
}


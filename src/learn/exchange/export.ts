import fs from 'node:fs';
import path from 'node:path';
import type { Runtime } from '../../compose.js';
import { writeAtomic } from '../../util/atomic-file.js';
import { loadLessons, type LessonProblem } from '../lesson-files.js';
import { Envelope, lessonDigest, sealLesson } from './envelope.js';
import { loadSigningKey } from './keys.js';

export type ExchangeDeps = Pick<Runtime, 'config' | 'store' | 'clock'>;

export interface ExportedLesson {
  id: string;
  status: 'active' | 'retired';
  file: string;
  digest: string;
  /** The version signed with it: one more than the last this key signed of that lesson. */
  version: number;
  /** Whether an earlier version of it had been exported (by this key). */
  update: boolean;
}

export interface ExportResult {
  /** Fingerprint of the signing key. */
  signer: string;
  /** The outbox folder of that key. */
  folder: string;
  exported: ExportedLesson[];
  /** Own lessons whose current content is in the outbox already. */
  unchanged: string[];
  /** Lesson files that could not be read (not exported). */
  problems: LessonProblem[];
}

/**
 * Sign this system's own new lessons into the outbox: `<outbox>/<fingerprint>/<id>.json`.
 *
 * Own lessons are those in lessonsDir written by a person or the distiller (`source: human` or
 * `distilled`): not imported ones (they are their signer's to share) and not local copies of
 * shipped lessons (every kaizen has those). An active lesson goes out when its current content has
 * not been exported as the latest version yet (the ledger keeps the digest and version of what was
 * signed); a retired one goes out only when an earlier version of it did, so that peers learn of
 * the retirement. Each goes out as a new version, one more than the last this key signed of that
 * lesson (from the ledger, or the outbox's envelope when the ledger was lost), which peers use to
 * refuse older envelopes put back on the branch. A lesson last sent unversioned (before versions)
 * goes out again, versioned, so peers can refuse the unversioned one from then on.
 */
export function exportLessons(deps: ExchangeDeps): ExportResult {
  const { config, store, clock } = deps;
  const key = loadSigningKey(config.exchange.keyDir);
  const folder = path.join(config.exchange.outbox, key.fingerprint);
  const loaded = loadLessons(config);
  const shipped = new Set(loadLessons({ lessonsDir: '' }).lessons.map((l) => l.id));
  const result: ExportResult = {
    signer: key.fingerprint,
    folder,
    exported: [],
    unchanged: [],
    problems: loaded.problems,
  };
  for (const { lesson, origin } of loaded.files) {
    if (origin !== 'local' || lesson.source === 'imported' || shipped.has(lesson.id)) continue;
    const before = store.exchange.latest(lesson.id, 'exported', key.fingerprint);
    if (lesson.status === 'retired' && !before) continue;
    const digest = lessonDigest(lesson);
    const file = path.join(folder, `${lesson.id}.json`);
    if (before?.digest === digest && before.version !== null && fs.existsSync(file)) {
      result.unchanged.push(lesson.id);
      continue;
    }
    const version =
      Math.max(
        store.exchange.lastExportedVersion(lesson.id, key.fingerprint),
        outboxVersion(file, key.fingerprint),
      ) + 1;
    const sealed = sealLesson(lesson, key, version);
    writeAtomic(file, sealed.text);
    store.exchange.record({
      lessonId: lesson.id,
      direction: 'exported',
      at: clock.now(),
      peer: key.fingerprint,
      digest: sealed.digest,
      detail: file,
      version,
    });
    result.exported.push({
      id: lesson.id,
      status: lesson.status,
      file,
      digest: sealed.digest,
      version,
      update: before !== undefined,
    });
  }
  return result;
}

/**
 * The version of this key's envelope in the outbox (0 when there is none or it is unversioned): a
 * floor for the next version should the store's ledger have been lost while the outbox was kept.
 */
function outboxVersion(file: string, fingerprint: string): number {
  try {
    const parsed = Envelope.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return parsed.success && parsed.data.signer === fingerprint ? parsed.data.version : 0;
  } catch {
    return 0;
  }
}

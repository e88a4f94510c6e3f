import fs from 'node:fs';
import path from 'node:path';
import type { Runtime } from '../../compose.js';
import { writeAtomic } from '../../util/atomic-file.js';
import { loadLessons, type LessonProblem } from '../lesson-files.js';
import { lessonDigest, sealLesson } from './envelope.js';
import { loadSigningKey } from './keys.js';

export type ExchangeDeps = Pick<Runtime, 'config' | 'store' | 'clock'>;

export interface ExportedLesson {
  id: string;
  status: 'active' | 'retired';
  file: string;
  digest: string;
  /** Whether an earlier version of it had been exported. */
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
 * not been exported yet (the ledger keeps the digest of what was signed); a retired one goes out
 * only when an earlier version of it did, so that peers learn of the retirement.
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
    if (store.exchange.has(lesson.id, 'exported', digest, key.fingerprint) && fs.existsSync(file)) {
      result.unchanged.push(lesson.id);
      continue;
    }
    const sealed = sealLesson(lesson, key);
    writeAtomic(file, sealed.text);
    store.exchange.record({
      lessonId: lesson.id,
      direction: 'exported',
      at: clock.now(),
      peer: key.fingerprint,
      digest: sealed.digest,
      detail: file,
    });
    result.exported.push({
      id: lesson.id,
      status: lesson.status,
      file,
      digest: sealed.digest,
      update: before !== undefined && before.digest !== sealed.digest,
    });
  }
  return result;
}

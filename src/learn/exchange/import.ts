import fs from 'node:fs';
import path from 'node:path';
import type { KaizenConfig } from '../../config/schema.js';
import type { Lesson } from '../../propose/context/lesson.js';
import { loadLessons, writeLessonFile, type LessonFile } from '../lesson-files.js';
import type { ExchangeDeps } from './export.js';
import {
  MAX_ENVELOPE_BYTES,
  openEnvelope,
  sha256,
  type RefusalKind,
  type TrustedSigner,
} from './envelope.js';
import { FINGERPRINT, parsePublicKey } from './keys.js';
import { BRANCH_README, ENVELOPE_FILE } from './shared-branch.js';
import { judgeVersion } from './versions.js';

/** Key folders read in one sync, at most; envelopes per folder, at most. */
export const MAX_FOLDERS = 1000;
export const MAX_ENVELOPES_PER_FOLDER = 5000;

export type ImportRefusal = RefusalKind | 'not_a_file' | 'id_taken' | 'replay' | 'version_conflict';

export type ImportOutcome =
  | {
      outcome: 'imported' | 'updated';
      id: string;
      peer: string;
      name: string;
      file: string;
      digest: string;
      /** The version signed with it (0: an unversioned envelope). */
      version: number;
    }
  | {
      outcome: 'refused';
      id: string;
      peer: string;
      kind: ImportRefusal;
      message: string;
      digest: string;
      /** The version signed with it, when its signature verified. */
      version?: number;
    };

export interface ImportResult {
  /** Lessons taken in (new, or a newer signed version), and those refused, in folder and file order. */
  outcomes: ImportOutcome[];
  /** Envelopes whose lesson is imported already with the same digest. */
  unchanged: number;
  /** Things skipped that are not lessons (a stray file, a folder that is not a key), and limits hit. */
  notes: string[];
}

/** The configured trusted keys, by fingerprint. */
export function trustedSigners(config: Pick<KaizenConfig, 'exchange'>): Map<string, TrustedSigner> {
  return new Map(
    config.exchange.trustedKeys.map((k) => [
      k.fingerprint,
      { name: k.name, fingerprint: k.fingerprint, key: parsePublicKey(k.publicKey) },
    ]),
  );
}

/**
 * Import peers' lessons from a checked-out shared branch at `root`: every key folder except this
 * system's own (`ownFolders`). A lesson is written into lessonsDir (`source: imported`,
 * `imported_from: <fingerprint>`) only when its signature verifies against a trusted key whose
 * fingerprint is the folder's name. Refused: anything else (see openEnvelope), a version older than
 * the newest seen from that key for that lesson or the same version with other content (see
 * versions.ts), an id that one of this system's own lessons, a shipped lesson or another signer's
 * lesson already has. Each refusal is returned with its message and kept in the exchange ledger
 * (once per distinct envelope and reason).
 */
export function importFromBranch(
  deps: ExchangeDeps,
  root: string,
  ownFolders: ReadonlySet<string>,
): ImportResult {
  const { config, store, clock } = deps;
  const trusted = trustedSigners(config);
  const result: ImportResult = { outcomes: [], unchanged: 0, notes: [] };
  const local = new Map<string, LessonFile>(loadLessons(config).files.map((f) => [f.lesson.id, f]));
  const shipped = new Set(loadLessons({ lessonsDir: '' }).lessons.map((l) => l.id));

  const refuse = (
    id: string,
    peer: string,
    kind: ImportRefusal,
    reason: string,
    digest: string,
    version?: number,
  ) => {
    const who = trusted.get(peer);
    const message = `lesson ${id} from ${peer}${who ? ` ("${who.name}")` : ''}: ${reason}; it was not imported`;
    const signed = version === undefined ? {} : { version };
    result.outcomes.push({ outcome: 'refused', id, peer, kind, message, digest, ...signed });
    const last = store.exchange.latest(id, 'refused', peer);
    if (last?.digest !== digest || last.detail !== message) {
      store.exchange.record({
        lessonId: id,
        direction: 'refused',
        at: clock.now(),
        peer,
        digest,
        detail: message,
        ...signed,
      });
    }
  };
  /** Apply the replay rule to a version whose signature verified: true when it refused it (and said why). */
  const versionRefused = (id: string, peer: string, version: number, digest: string): boolean => {
    const verdict = judgeVersion({ version, digest }, store.exchange.seen(peer, id));
    if (!verdict.ok) {
      refuse(id, peer, verdict.kind, verdict.reason, digest, version);
      return true;
    }
    return false;
  };
  const markSeen = (id: string, peer: string, version: number, digest: string) =>
    store.exchange.markSeen({ signer: peer, lessonId: id, version, digest, at: clock.now() });

  let folders = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.name !== '.git' && e.name !== BRANCH_README)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (folders.length > MAX_FOLDERS) {
    result.notes.push(
      `the shared branch has ${folders.length} entries: only the first ${MAX_FOLDERS} were read`,
    );
    folders = folders.slice(0, MAX_FOLDERS);
  }
  for (const entry of folders) {
    const peer = entry.name;
    if (!entry.isDirectory() || !FINGERPRINT.test(peer)) {
      result.notes.push(
        `ignored ${JSON.stringify(peer.slice(0, 80))} on the shared branch: not a key folder`,
      );
      continue;
    }
    if (ownFolders.has(peer)) continue;
    let names = fs.readdirSync(path.join(root, peer)).sort();
    if (names.length > MAX_ENVELOPES_PER_FOLDER) {
      result.notes.push(
        `${peer} holds ${names.length} entries: only the first ${MAX_ENVELOPES_PER_FOLDER} were read`,
      );
      names = names.slice(0, MAX_ENVELOPES_PER_FOLDER);
    }
    for (const name of names) {
      const match = ENVELOPE_FILE.exec(name);
      if (!match) {
        result.notes.push(`ignored ${peer}/${JSON.stringify(name.slice(0, 80))}: not named <lesson id>.json`);
        continue;
      }
      const id = match[1]!;
      const file = path.join(root, peer, name);
      const read = readBounded(file);
      if ('reason' in read) {
        refuse(id, peer, read.kind, read.reason, sha256(`${peer}/${name}:${read.reason}`));
        continue;
      }
      const opened = openEnvelope(read.bytes, { folder: peer, fileId: id }, trusted);
      if (!opened.ok) {
        // Signed by the trusted key though not a lesson this kaizen can take (a scan rule it
        // cannot run, say): still the newest version its signer vouched for, unless it is older.
        if (opened.version !== undefined) {
          if (versionRefused(id, peer, opened.version, opened.digest)) continue;
          markSeen(id, peer, opened.version, opened.digest);
        }
        refuse(id, peer, opened.kind, opened.reason, opened.digest, opened.version);
        continue;
      }
      const { lesson, digest, version } = opened;
      if (versionRefused(id, peer, version, digest)) continue;
      const latest = store.exchange.latest(id, 'imported', peer);
      if (version === 0 && latest?.digest !== digest && store.exchange.has(id, 'imported', digest, peer)) {
        // Unversioned envelopes cannot be ordered: a content imported before and replaced since
        // is taken for an old envelope put back.
        const when = new Date(latest?.at ?? 0).toISOString().slice(0, 16).replace('T', ' ');
        refuse(
          id,
          peer,
          'replay',
          `it is an older signed version than the one imported at ${when} UTC (an old envelope put back?): the newer one was kept`,
          digest,
          version,
        );
        continue;
      }
      markSeen(id, peer, version, digest);
      if (latest?.digest === digest) {
        result.unchanged++;
        continue;
      }
      const existing = local.get(id);
      if (shipped.has(id) && (!existing || existing.lesson.source !== 'imported')) {
        refuse(
          id,
          peer,
          'id_taken',
          `its id is that of a lesson shipped with kaizen: the peer must give it another id`,
          digest,
          version,
        );
        continue;
      }
      if (existing && existing.lesson.source !== 'imported') {
        refuse(
          id,
          peer,
          'id_taken',
          `this system has its own lesson ${id} (${existing.file}): one of the two must be renamed`,
          digest,
          version,
        );
        continue;
      }
      if (existing && existing.lesson.imported_from !== peer) {
        const other = existing.lesson.imported_from ?? 'an unknown key';
        const otherName = trusted.get(other)?.name;
        refuse(
          id,
          peer,
          'id_taken',
          `lesson ${id} was already imported from ${other}${otherName ? ` ("${otherName}")` : ''} (${existing.file}): one of the two peers must rename theirs`,
          digest,
          version,
        );
        continue;
      }
      const imported = asImported(lesson, peer);
      const written = writeLessonFile(config.lessonsDir, imported);
      if (existing && path.resolve(existing.file) !== path.resolve(written))
        fs.rmSync(existing.file, { force: true });
      local.set(id, { lesson: imported, file: written, origin: 'local' });
      store.exchange.record({
        lessonId: id,
        direction: 'imported',
        at: clock.now(),
        peer,
        digest,
        detail: written,
        version,
      });
      result.outcomes.push({
        outcome: existing ? 'updated' : 'imported',
        id,
        peer,
        name: opened.signer.name,
        file: written,
        digest,
        version,
      });
    }
  }
  if (result.outcomes.some((o) => o.outcome !== 'refused')) {
    store.lessons.sync(loadLessons(config).files, clock.now());
  }
  return result;
}

/**
 * The lesson as this system keeps it: marked imported from its signer, and without the two fields
 * that would act here on the peer's behalf. `evidence` names the peer's interventions, which would
 * be read as this system's interventions of the same ids; an `action` would let the offline rules
 * engine propose changes here from a template another system wrote. What an imported lesson does
 * is inform: the proposer matches it, cites or argues against it, and runs its scan over this
 * system's code. A person who wants its action here adds the lesson as their own.
 */
export function asImported(lesson: Lesson, peer: string): Lesson {
  const { action: _action, ...kept } = lesson;
  return { ...kept, evidence: [], source: 'imported', imported_from: peer };
}

/** A regular file's bytes (at most MAX_ENVELOPE_BYTES), or why it is not read. */
function readBounded(file: string): { bytes: Buffer } | { kind: ImportRefusal; reason: string } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { kind: 'not_a_file', reason: `it cannot be opened as a plain file (${code})` };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { kind: 'not_a_file', reason: 'it is not a plain file' };
    if (st.size > MAX_ENVELOPE_BYTES) {
      return {
        kind: 'too_large',
        reason: `the file is ${st.size} bytes, more than the ${MAX_ENVELOPE_BYTES} a lesson may have`,
      };
    }
    const buf = Buffer.alloc(st.size);
    const n = fs.readSync(fd, buf, 0, st.size, 0);
    return { bytes: buf.subarray(0, n) };
  } finally {
    fs.closeSync(fd);
  }
}

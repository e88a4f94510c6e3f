import type { Migration } from './index.js';

/**
 * Versions of signed lessons (issue 18). An envelope now signs a version number with the lesson,
 * which its signer raises with every version it exports; the ledger keeps the version of what was
 * exported, imported or refused (NULL for the unversioned envelopes of before), and
 * lesson_versions_seen keeps, per signing key and lesson id, the newest version whose signature
 * verified here. An importer refuses anything older than that, whether or not it ever saw the older
 * one, so an old envelope put back on the shared branch cannot revive a retired lesson.
 */
export const m0008LessonVersions: Migration = {
  version: 8,
  name: 'lesson_versions',
  sql: /* sql */ `
ALTER TABLE lesson_exchange ADD COLUMN version INTEGER;

CREATE TABLE lesson_versions_seen (
  signer     TEXT NOT NULL,              -- fingerprint of the signing key
  lesson_id  TEXT NOT NULL,
  version    INTEGER NOT NULL,           -- 0: an unversioned envelope (from before versions)
  digest     TEXT NOT NULL,              -- sha256 of the lesson's signed content at that version
  at         INTEGER NOT NULL,           -- when it was first seen here
  PRIMARY KEY (signer, lesson_id)
) WITHOUT ROWID;
`,
};

import type { Migration } from './index.js';

/** The Learn stage: the lessons index grows where each lesson lives, the distiller's checkpoints, the exchange ledger. */
export const m0004Learn: Migration = {
  version: 4,
  name: 'learn',
  sql: /* sql */ `
ALTER TABLE lessons ADD COLUMN origin TEXT NOT NULL DEFAULT 'local';   -- shipped or local
ALTER TABLE lessons ADD COLUMN retired_at TEXT;
CREATE INDEX lessons_by_status_scope ON lessons (status, scope);

-- One distiller run: the interventions finalised in (since, until]. A run without finished_at
-- crashed; the next run resumes it, skipping the steps already done.
CREATE TABLE distill_runs (
  id           INTEGER PRIMARY KEY,
  started_at   INTEGER NOT NULL,
  since        INTEGER NOT NULL,
  until        INTEGER NOT NULL,
  mode         TEXT NOT NULL,          -- rules, or provider:model
  finished_at  INTEGER,
  summary      TEXT                    -- JSON: lessons created, updated, retired; escaped defects
);
CREATE TABLE distill_steps (
  run_id   INTEGER NOT NULL REFERENCES distill_runs (id),
  step     TEXT NOT NULL,              -- e.g. outcome:<intervention id>, pattern:<key>
  done_at  INTEGER NOT NULL,
  result   TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (run_id, step)
);

-- Signed lessons sent and received: what went out, what came in from whom, and what was refused.
CREATE TABLE lesson_exchange (
  id         INTEGER PRIMARY KEY,
  lesson_id  TEXT NOT NULL,
  direction  TEXT NOT NULL,            -- exported, imported, refused
  at         INTEGER NOT NULL,
  peer       TEXT,                     -- fingerprint of the signing key
  digest     TEXT NOT NULL,            -- sha256 of the signed bytes
  detail     TEXT
);
CREATE INDEX lesson_exchange_by_lesson ON lesson_exchange (lesson_id, direction);
`,
};

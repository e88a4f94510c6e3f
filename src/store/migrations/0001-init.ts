import type { Migration } from './index.js';

export const m0001Init: Migration = {
  version: 1,
  name: 'init',
  sql: /* sql */ `
CREATE TABLE targets (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  repo        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);

CREATE TABLE signals (
  id          INTEGER PRIMARY KEY,
  target_id   INTEGER NOT NULL REFERENCES targets(id),
  name        TEXT NOT NULL,
  unit        TEXT NOT NULL,
  direction   TEXT NOT NULL CHECK (direction IN ('higher_is_better', 'lower_is_better')),
  spec        TEXT NOT NULL,           -- the signal's config as JSON, as last seen
  created_at  INTEGER NOT NULL,
  UNIQUE (target_id, name)
);

-- Raw samples. Clustered on (signal, time) with no rowid, so the primary key is the only index
-- and a sample costs a few dozen bytes. Exactly one of value and error is set.
CREATE TABLE samples (
  signal_id   INTEGER NOT NULL,
  t           INTEGER NOT NULL,        -- ms since epoch
  value       REAL,
  error       TEXT,
  PRIMARY KEY (signal_id, t),
  CHECK ((value IS NULL) <> (error IS NULL))
) WITHOUT ROWID;

-- One row per signal and hour, written once the hour is complete; kept far longer than raw samples.
CREATE TABLE samples_hourly (
  signal_id   INTEGER NOT NULL,
  hour        INTEGER NOT NULL,        -- ms since epoch of the hour's start
  n           INTEGER NOT NULL,        -- value samples
  errors      INTEGER NOT NULL,        -- error samples
  sum         REAL,
  min         REAL,
  max         REAL,
  median      REAL,
  PRIMARY KEY (signal_id, hour)
) WITHOUT ROWID;

-- Up to where each signal's raw samples are rolled up (exclusive, an hour boundary).
CREATE TABLE rollup_state (
  signal_id     INTEGER PRIMARY KEY,
  rolled_until  INTEGER NOT NULL
);

-- What a source keeps between samples (counter values, log offsets, CPU ticks).
CREATE TABLE source_state (
  signal_id   INTEGER PRIMARY KEY,
  state       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE interventions (
  id            TEXT PRIMARY KEY,
  target_id     INTEGER NOT NULL REFERENCES targets(id),
  area          TEXT NOT NULL,
  kind          TEXT NOT NULL,
  state         TEXT NOT NULL,
  risk          TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  proposal      TEXT NOT NULL,         -- the validated proposal as JSON
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX interventions_by_state ON interventions (state);
CREATE INDEX interventions_by_area ON interventions (target_id, area, created_at);

CREATE TABLE intervention_transitions (
  id               INTEGER PRIMARY KEY,
  intervention_id  TEXT NOT NULL REFERENCES interventions(id),
  from_state       TEXT,
  to_state         TEXT NOT NULL,
  at               INTEGER NOT NULL,
  actor            TEXT NOT NULL,      -- 'kaizen' or a person
  reason           TEXT NOT NULL
);
CREATE INDEX transitions_by_intervention ON intervention_transitions (intervention_id, id);

CREATE TABLE lessons (
  id          TEXT PRIMARY KEY,
  scope       TEXT NOT NULL,
  status      TEXT NOT NULL,
  source      TEXT NOT NULL,
  file        TEXT NOT NULL,
  body        TEXT NOT NULL,           -- the lesson as JSON
  created_at  TEXT NOT NULL,
  indexed_at  INTEGER NOT NULL
);

CREATE TABLE scheduled_jobs (
  key           TEXT PRIMARY KEY,      -- e.g. observe:demo
  kind          TEXT NOT NULL,
  target        TEXT,
  next_run_at   INTEGER NOT NULL,
  last_run_at   INTEGER,
  last_status   TEXT,
  last_error    TEXT,
  running_since INTEGER
);

-- Append-only: every autonomous action and its reasons. Triggers refuse edits and deletes.
CREATE TABLE events (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  t                INTEGER NOT NULL,
  kind             TEXT NOT NULL,
  target           TEXT,
  intervention_id  TEXT,
  data             TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_time ON events (t);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
`,
};

import type { Migration } from './index.js';

/** What the safety core records on each intervention, and the intents that make apply crash-safe. */
export const m0002Interventions: Migration = {
  version: 2,
  name: 'interventions',
  sql: /* sql */ `
ALTER TABLE interventions ADD COLUMN origin TEXT NOT NULL DEFAULT 'kaizen';  -- provider, or the person
ALTER TABLE interventions ADD COLUMN base_sha TEXT;       -- target HEAD when proposed
ALTER TABLE interventions ADD COLUMN pre_apply_sha TEXT;  -- HEAD just before the commit
ALTER TABLE interventions ADD COLUMN commit_sha TEXT;
ALTER TABLE interventions ADD COLUMN revert_sha TEXT;
ALTER TABLE interventions ADD COLUMN applied_at INTEGER;  -- when it went live (healthy)
ALTER TABLE interventions ADD COLUMN window_ms INTEGER;   -- validation window
ALTER TABLE interventions ADD COLUMN guard TEXT;          -- last guard outcome (JSON)
ALTER TABLE interventions ADD COLUMN apply_log TEXT;      -- deploy and health output (JSON)
ALTER TABLE interventions ADD COLUMN verdict TEXT;        -- validation verdict (JSON)
ALTER TABLE interventions ADD COLUMN waiting_reason TEXT; -- why it waits in the backlog

-- One row per side-effecting step of an apply, written before the step and closed after it,
-- so a restart knows exactly where a crash happened.
CREATE TABLE apply_intents (
  intervention_id  TEXT NOT NULL REFERENCES interventions(id),
  step             TEXT NOT NULL,
  started_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  data             TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (intervention_id, step)
);
`,
};

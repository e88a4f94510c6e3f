import type { Migration } from './index.js';

/** Every model call: what it cost and how it went, for `kaizen usage`, the daily token budget and audit. */
export const m0003LlmCalls: Migration = {
  version: 3,
  name: 'llm_calls',
  sql: /* sql */ `
CREATE TABLE llm_calls (
  id              INTEGER PRIMARY KEY,
  t               INTEGER NOT NULL,
  target          TEXT,
  task            TEXT NOT NULL,           -- proposer, distiller, meta-review
  provider        TEXT NOT NULL,
  model           TEXT NOT NULL,
  prompt_version  TEXT NOT NULL,
  input_tokens    INTEGER NOT NULL,
  output_tokens   INTEGER NOT NULL,
  latency_ms      INTEGER NOT NULL,
  outcome         TEXT NOT NULL,           -- ok, invalid, error
  detail          TEXT,                    -- the error, or the validation problems
  raw             TEXT                     -- the raw output of an invalid answer, kept for audit
);
CREATE INDEX llm_calls_by_time ON llm_calls (t);

-- The daily apply budget counts entries into applying by time.
CREATE INDEX transitions_by_state_time ON intervention_transitions (to_state, at);
`,
};

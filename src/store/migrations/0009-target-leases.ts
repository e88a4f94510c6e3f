import type { Migration } from './index.js';

/**
 * One lease per target: whoever applies, reverts or recovers on a target holds it, so two
 * processes (a CLI, the daemon, a BullMQ worker) never work on one repository at once, and a
 * recovery never takes over an apply that is still running. Who holds it (pid, the pid's start
 * time, host) is what decides whether the holder still lives; the heartbeat and expiry decide it
 * for a holder on another host.
 *
 * Also an index for "the newest escalation (or resolution) of this target", which /health and
 * doctor ask on every call.
 */
export const m0009TargetLeases: Migration = {
  version: 9,
  name: 'target_leases',
  sql: /* sql */ `
CREATE TABLE target_leases (
  target           TEXT PRIMARY KEY,  -- the target's name
  owner            TEXT NOT NULL,     -- one holding: a random id per apply, revert or recovery
  pid              INTEGER NOT NULL,
  pid_start        TEXT,              -- the process's start time (Linux /proc), so a reused pid is not taken for it
  host             TEXT NOT NULL,
  doing            TEXT NOT NULL,     -- what the holder does, said to whoever finds the target busy
  intervention_id  TEXT,
  actor            TEXT,              -- the person it acts for, if any
  acquired_at      INTEGER NOT NULL,  -- kaizen's clock: for messages
  heartbeat_at     INTEGER NOT NULL,  -- the world's clock (Clock.world): renewed while held
  expires_at       INTEGER NOT NULL   -- the world's clock: a holder on another host is gone after this
);

-- What needs a person (/health, doctor) asks for the newest event of a kind per target.
CREATE INDEX events_by_target_kind ON events (target, kind, id);
`,
};

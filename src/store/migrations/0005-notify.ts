import type { Migration } from './index.js';

/**
 * Notifications and the drift scan. The notifier reads the event log after a cursor and turns the
 * events that matter into outbox rows in the same transaction that moves the cursor, so a restart
 * never plans a notification twice; each row is then delivered to every webhook, and each delivery
 * (sent, or given up) is recorded, so a restart never sends one twice either.
 */
export const m0005Notify: Migration = {
  version: 5,
  name: 'notify',
  sql: /* sql */ `
CREATE TABLE notify_outbox (
  id          INTEGER PRIMARY KEY,
  event_id    INTEGER NOT NULL UNIQUE,  -- the event it speaks for
  created_at  INTEGER NOT NULL,
  message     TEXT NOT NULL,            -- JSON: the notification, rendered per format at delivery
  done_at     INTEGER                   -- every webhook was sent it or given up on
);
CREATE INDEX notify_outbox_pending ON notify_outbox (done_at, id);

CREATE TABLE notify_deliveries (
  outbox_id  INTEGER NOT NULL REFERENCES notify_outbox (id),
  webhook    TEXT NOT NULL,             -- a digest of the URL, never the URL: it often holds a token
  status     TEXT NOT NULL,             -- sent, failed
  attempts   INTEGER NOT NULL,
  at         INTEGER NOT NULL,
  detail     TEXT,
  PRIMARY KEY (outbox_id, webhook)
);

-- Small JSON values: the notifier's cursor, open failure episodes and budget notices per target,
-- and what the drift scan last saw per target.
CREATE TABLE notify_state (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL
);
`,
};

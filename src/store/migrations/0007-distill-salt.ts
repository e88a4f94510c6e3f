import type { Migration } from './index.js';

/**
 * A salt for the ids of distilled lessons, random per store: the same pattern distilled on two
 * systems that exchange lessons gets two ids instead of one that each side refuses as taken.
 * A store that has distilled before keeps an empty salt, so the lessons it wrote keep their ids
 * and go on gaining evidence.
 */
export const m0007DistillSalt: Migration = {
  version: 7,
  name: 'distill_salt',
  sql: /* sql */ `
CREATE TABLE distill_salt (salt TEXT NOT NULL);
INSERT INTO distill_salt (salt)
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM lessons WHERE source = 'distilled') OR EXISTS (SELECT 1 FROM distill_runs) THEN ''
    ELSE lower(hex(randomblob(8)))
  END;
`,
};

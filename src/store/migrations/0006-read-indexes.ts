import type { Migration } from './index.js';

/**
 * Two reads on every proposal, each answered by walking an index backwards instead of sorting the
 * whole table: an area's last few interventions by their last change (the freeze check), and a
 * target's newest interventions (the proposer's context).
 */
export const m0006ReadIndexes: Migration = {
  version: 6,
  name: 'read_indexes',
  sql: /* sql */ `
CREATE INDEX interventions_by_area_updated ON interventions (target_id, area, updated_at);
CREATE INDEX interventions_by_target_created ON interventions (target_id, created_at);
`,
};

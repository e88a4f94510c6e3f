import type { SignalConfig, TargetConfig } from '../config/schema.js';
import type { Db } from './db.js';

export interface SignalRow {
  id: number;
  targetId: number;
  target: string;
  name: string;
  unit: string;
  direction: SignalConfig['direction'];
}

/** Targets and their signals, registered from the config so samples can refer to small integer ids. */
export class Catalog {
  constructor(private readonly db: Db) {}

  /**
   * Make the store's targets and signals match the config (insert new ones, update changed specs)
   * and return the signal rows by name. Signals removed from the config keep their history.
   */
  sync(target: TargetConfig, now: number): Map<string, SignalRow> {
    const run = this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO targets (name, repo, created_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET repo = excluded.repo`,
        )
        .run(target.name, target.repoPath, now);
      const targetId = (
        this.db.prepare('SELECT id FROM targets WHERE name = ?').get(target.name) as { id: number }
      ).id;
      const upsert = this.db.prepare(
        `INSERT INTO signals (target_id, name, unit, direction, spec, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (target_id, name) DO UPDATE SET unit = excluded.unit, direction = excluded.direction, spec = excluded.spec`,
      );
      for (const s of target.signals)
        upsert.run(targetId, s.name, s.unit, s.direction, JSON.stringify(s), now);
      return this.signalsOf(target.name);
    });
    return run();
  }

  signalsOf(targetName: string): Map<string, SignalRow> {
    const rows = this.db
      .prepare(
        `SELECT s.id, s.target_id AS targetId, t.name AS target, s.name, s.unit, s.direction
         FROM signals s JOIN targets t ON t.id = s.target_id WHERE t.name = ? ORDER BY s.name`,
      )
      .all(targetName) as SignalRow[];
    return new Map(rows.map((r) => [r.name, r]));
  }

  allSignalIds(): number[] {
    return this.db.prepare('SELECT id FROM signals ORDER BY id').pluck().all() as number[];
  }
}

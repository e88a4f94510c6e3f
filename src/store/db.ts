import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

export type Db = Database.Database;

export const DB_FILE = 'kaizen.db';

export interface OpenOptions {
  /** Migrations to apply; defaults to every shipped one. Tests pass a prefix to build old schemas. */
  migrations?: readonly Migration[];
  /** Time written to the migration ledger (ms since epoch). */
  now?: number;
  readonly?: boolean;
}

/**
 * The only way to open the store: WAL journal, foreign keys on, schema migrated forward.
 * A database whose schema is newer than this build knows is refused, untouched.
 */
export function openDb(file: string, options: OpenOptions = {}): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { readonly: options.readonly ?? false });
  try {
    db.pragma('busy_timeout = 5000');
    const migrations = options.migrations ?? MIGRATIONS;
    refuseNewer(db, migrations, file); // before any pragma that writes to the file
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      // WAL with NORMAL is durable across process crashes; only an OS crash can lose the last commits.
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    migrate(db, migrations, options.now ?? Date.now(), file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function refuseNewer(db: Db, migrations: readonly Migration[], file: string): void {
  const known = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > known) {
    throw new StoreError(
      'STORE_TOO_NEW',
      `${file} has schema version ${current}, but this kaizen knows versions up to ${known}: ` +
        'it was written by a newer kaizen. Upgrade kaizen, or point dataDir at another folder; the database was not changed.',
    );
  }
}

function migrate(db: Db, migrations: readonly Migration[], now: number, file: string): void {
  const known = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current === known) return;
  if (db.readonly) {
    throw new StoreError(
      'STORE_MIGRATION_FAILED',
      `${file} needs migrating to schema ${known} but was opened read-only`,
    );
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (m.version <= current) continue;
    // Each step commits alone with its ledger row and version, so a crash leaves a consistent schema.
    const step = db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, now);
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      step();
    } catch (err) {
      throw new StoreError(
        'STORE_MIGRATION_FAILED',
        `migration ${String(m.version).padStart(4, '0')}_${m.name} failed on ${file}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { StoreError } from '../errors.js';
import { openDb, schemaVersion } from './db.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

describe('openDb', () => {
  it('creates a WAL database at the latest schema with a ledger of applied migrations', () => {
    const file = path.join(tempDir(), 'nested', 'kaizen.db');

    const db = openDb(file, { now: 1234 });

    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    expect(
      db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all(),
    ).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name, applied_at: 1234 })));
    db.close();
  });

  it('migrates an existing database forward and keeps its rows', () => {
    const file = path.join(tempDir(), 'kaizen.db');
    const v2: Migration = { version: 2, name: 'add_note', sql: 'ALTER TABLE targets ADD COLUMN note TEXT' };
    const old = openDb(file, { migrations: [MIGRATIONS[0]!], now: 1 });
    old.prepare("INSERT INTO targets (name, repo, created_at) VALUES ('shop', '/srv/shop', 1)").run();
    old.close();

    const db = openDb(file, { migrations: [MIGRATIONS[0]!, v2], now: 2 });

    expect(schemaVersion(db)).toBe(2);
    expect(db.prepare('SELECT name, repo, note FROM targets').all()).toEqual([
      { name: 'shop', repo: '/srv/shop', note: null },
    ]);
    expect(db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all()).toEqual([
      { version: 1, applied_at: 1 },
      { version: 2, applied_at: 2 },
    ]);
    db.close();
  });

  it('is idempotent: reopening applies nothing twice', () => {
    const file = path.join(tempDir(), 'kaizen.db');
    openDb(file, { now: 1 }).close();

    const db = openDb(file, { now: 2 });

    expect(db.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.length);
    db.close();
  });

  it('refuses a database written by a newer kaizen and leaves it untouched', () => {
    const file = path.join(tempDir(), 'kaizen.db');
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();

    const attempt = () => openDb(file);

    expect(attempt).toThrow(StoreError);
    expect(attempt).toThrow(
      `${file} has schema version 99, but this kaizen knows versions up to ${MIGRATIONS.at(-1)!.version}: it was written by a newer kaizen. ` +
        'Upgrade kaizen, or point dataDir at another folder; the database was not changed.',
    );
    const after = new Database(file);
    expect(after.pragma('user_version', { simple: true })).toBe(99);
    expect(after.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(after.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBe(0);
    after.close();
  });

  it('rolls back a failing migration whole and names it', () => {
    const file = path.join(tempDir(), 'kaizen.db');
    const broken: Migration = {
      version: 2,
      name: 'broken',
      sql: 'CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;',
    };

    expect(() => openDb(file, { migrations: [MIGRATIONS[0]!, broken] })).toThrow(
      /migration 0002_broken failed on .*kaizen\.db: no such table: no_such_table/,
    );

    const db = openDb(file, { migrations: [MIGRATIONS[0]!] });
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'").pluck().get()).toBe(0);
    db.close();
  });

  it('keeps the event log append-only', () => {
    const db = openDb(path.join(tempDir(), 'kaizen.db'));
    db.prepare("INSERT INTO events (t, kind) VALUES (1, 'x')").run();

    expect(() => db.prepare("UPDATE events SET kind = 'y'").run()).toThrow('events are append-only');
    expect(() => db.prepare('DELETE FROM events').run()).toThrow('events are append-only');
    db.close();
  });
});

describe('the salt of distilled lesson ids', () => {
  const salt = (db: Database.Database) => db.prepare('SELECT salt FROM distill_salt').pluck().get();

  it('is random per new store, so two systems distilling the same pattern give it two ids', () => {
    const a = openDb(path.join(tempDir(), 'kaizen.db'));
    const b = openDb(path.join(tempDir(), 'kaizen.db'));

    expect(salt(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(salt(b)).toMatch(/^[0-9a-f]{16}$/);
    expect(salt(a)).not.toBe(salt(b));
    a.close();
    b.close();
  });

  it('is empty for a store that distilled before salts existed, so its lessons keep their ids', () => {
    const upgraded = path.join(tempDir(), 'kaizen.db');
    const old = openDb(upgraded, { migrations: MIGRATIONS.slice(0, 6) });
    old
      .prepare(
        `INSERT INTO lessons (id, scope, status, source, file, body, created_at, indexed_at)
         VALUES ('D-1a2b3c4d', 'cache', 'active', 'distilled', 'lessons/D-1a2b3c4d.yaml', '{}', '2026-11-03', 1)`,
      )
      .run();
    old.close();
    const untouched = path.join(tempDir(), 'kaizen.db');
    openDb(untouched, { migrations: MIGRATIONS.slice(0, 6) }).close();

    const a = openDb(upgraded);
    const b = openDb(untouched);

    expect(salt(a)).toBe('');
    expect(salt(b)).toMatch(/^[0-9a-f]{16}$/);
    a.close();
    b.close();
  });
});

import type { LessonFile, LessonOrigin } from '../learn/lesson-files.js';
import { Lesson } from '../propose/context/lesson.js';
import type { Db } from './db.js';

export interface IndexedLesson {
  lesson: Lesson;
  file: string;
  origin: LessonOrigin;
  indexedAt: number;
}

export interface LessonFilter {
  scope?: string;
  status?: Lesson['status'];
  source?: Lesson['source'];
}

interface Row {
  body: string;
  file: string;
  origin: LessonOrigin;
  indexed_at: number;
}

/**
 * The lessons index: a copy of the lesson files (the files stay the truth, people edit them) that
 * the CLI, the report and the API query. `sync` makes it match the folders exactly.
 */
export class LessonIndex {
  constructor(private readonly db: Db) {}

  /** Make the index match these files: upsert each, drop lessons whose file is gone. */
  sync(files: readonly LessonFile[], now: number): { indexed: number; dropped: number } {
    return this.db.transaction(() => {
      const upsert = this.db.prepare(
        `INSERT INTO lessons (id, scope, status, source, file, body, created_at, indexed_at, origin, retired_at)
         VALUES (@id, @scope, @status, @source, @file, @body, @created_at, @indexed_at, @origin, @retired_at)
         ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, status = excluded.status,
           source = excluded.source, file = excluded.file, body = excluded.body,
           created_at = excluded.created_at, origin = excluded.origin, retired_at = excluded.retired_at,
           indexed_at = CASE WHEN lessons.body = excluded.body THEN lessons.indexed_at ELSE excluded.indexed_at END`,
      );
      for (const f of files) {
        upsert.run({
          id: f.lesson.id,
          scope: f.lesson.scope,
          status: f.lesson.status,
          source: f.lesson.source,
          file: f.file,
          body: JSON.stringify(f.lesson),
          created_at: f.lesson.created_at,
          indexed_at: now,
          origin: f.origin,
          retired_at: f.lesson.retired_at ?? null,
        });
      }
      const keep = new Set(files.map((f) => f.lesson.id));
      const ids = (this.db.prepare('SELECT id FROM lessons').all() as { id: string }[]).map((r) => r.id);
      const del = this.db.prepare('DELETE FROM lessons WHERE id = ?');
      let dropped = 0;
      for (const id of ids) if (!keep.has(id)) dropped += del.run(id).changes;
      return { indexed: files.length, dropped };
    })();
  }

  list(filter: LessonFilter = {}): IndexedLesson[] {
    const where: string[] = [];
    const args: string[] = [];
    for (const column of ['scope', 'status', 'source'] as const) {
      const value = filter[column];
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      args.push(value);
    }
    const rows = this.db
      .prepare(
        `SELECT body, file, origin, indexed_at FROM lessons ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`,
      )
      .all(...args) as Row[];
    return rows.map(toIndexed);
  }

  get(id: string): IndexedLesson | undefined {
    const row = this.db.prepare('SELECT body, file, origin, indexed_at FROM lessons WHERE id = ?').get(id) as
      Row | undefined;
    return row ? toIndexed(row) : undefined;
  }
}

function toIndexed(row: Row): IndexedLesson {
  return {
    lesson: Lesson.parse(JSON.parse(row.body)),
    file: row.file,
    origin: row.origin,
    indexedAt: row.indexed_at,
  };
}

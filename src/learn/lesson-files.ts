import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { KaizenConfig } from '../config/schema.js';
import { KaizenError } from '../errors.js';
import { Lesson } from '../propose/context/lesson.js';
import { writeAtomic } from '../util/atomic-file.js';

/** The seed lessons kaizen ships (src/ and dist/ both sit two levels below the root). */
export const SHIPPED_LESSONS_DIR = fileURLToPath(new URL('../../lessons/', import.meta.url));

export interface LessonProblem {
  file: string;
  problem: string;
}

/** Where a lesson file lives: shipped with kaizen (read-only) or in this system's own folder. */
export type LessonOrigin = 'shipped' | 'local';

export interface LessonFile {
  lesson: Lesson;
  file: string;
  origin: LessonOrigin;
}

export interface LoadedLessons {
  lessons: Lesson[];
  /** The same lessons with where each came from. */
  files: LessonFile[];
  problems: LessonProblem[];
}

/**
 * Read every lesson file (one YAML file per lesson) of the shipped folder and the config's
 * `lessonsDir`. A malformed file is reported with its path and the problem and skipped: a bad
 * lesson never stops kaizen. A local lesson replaces a shipped one with the same id, which is how
 * a shipped lesson is retired or edited for one system without touching kaizen's install.
 */
export function loadLessons(config: Pick<KaizenConfig, 'lessonsDir'>): LoadedLessons {
  const byId = new Map<string, LessonFile>();
  const problems: LessonProblem[] = [];
  const folders: [string, LessonOrigin][] = [
    [SHIPPED_LESSONS_DIR, 'shipped'],
    [config.lessonsDir, 'local'],
  ];
  for (const [dir, origin] of folders) {
    if (!dir || !existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(name) || name.startsWith('.')) continue;
      const file = path.join(dir, name);
      const read = readLessonFile(file);
      if ('problem' in read) problems.push(read);
      else byId.set(read.lesson.id, { lesson: read.lesson, file, origin });
    }
  }
  const files = [...byId.values()].sort((a, b) => (a.lesson.id < b.lesson.id ? -1 : 1));
  return { lessons: files.map((f) => f.lesson), files, problems };
}

/** One lesson file, or what is wrong with it (its path and the problem, as a person reads it). */
export function readLessonFile(file: string): { lesson: Lesson } | LessonProblem {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { file, problem: `cannot be read: ${(err as Error).message}` };
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    return { file, problem: `not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  const result = Lesson.safeParse(raw);
  if (result.success) return { lesson: result.data };
  return {
    file,
    problem: result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; '),
  };
}

/** The order keys are written in: the DESIGN.md order, so files read the same whoever wrote them. */
const KEY_ORDER: readonly (keyof Lesson)[] = [
  'id',
  'scope',
  'when',
  'prefer',
  'because',
  'falsifiable',
  'retired_when',
  'calibrated_for',
  'source',
  'imported_from',
  'evidence',
  'status',
  'created_at',
  'retired_at',
  'retired_why',
  'signals',
  'areas',
  'scan',
  'action',
];

export function lessonToYaml(lesson: Lesson): string {
  const ordered: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (lesson[key] !== undefined) ordered[key] = lesson[key];
  return stringify(ordered, { lineWidth: 100 });
}

/**
 * Write a lesson into a folder as `<id>.yaml`, atomically (temporary file, fsync, rename), so a
 * crash leaves the old lesson or the new one, never half of one. Validated first: kaizen never
 * writes a lesson it would refuse to read.
 */
export function writeLessonFile(dir: string, lesson: Lesson): string {
  const parsed = Lesson.safeParse(lesson);
  if (!parsed.success) {
    throw new KaizenError(
      'LESSON_INVALID',
      `lesson ${String(lesson.id)} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
    );
  }
  const file = path.join(dir, `${parsed.data.id}.yaml`);
  writeAtomic(file, lessonToYaml(parsed.data));
  return file;
}

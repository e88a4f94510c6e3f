import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { KaizenConfig } from '../config/schema.js';
import { Lesson } from '../propose/context/lesson.js';

/** The seed lessons kaizen ships (src/ and dist/ both sit two levels below the root). */
export const SHIPPED_LESSONS_DIR = fileURLToPath(new URL('../../lessons/', import.meta.url));

export interface LessonProblem {
  file: string;
  problem: string;
}

/**
 * Read every lesson file (one YAML file per lesson) of the shipped folder and the config's
 * `lessonsDir`. A malformed file is reported with its path and the problem and skipped: a bad
 * lesson never stops kaizen. A later folder's lesson replaces an earlier one with the same id.
 */
export function loadLessons(config: Pick<KaizenConfig, 'lessonsDir'>): {
  lessons: Lesson[];
  problems: LessonProblem[];
} {
  const byId = new Map<string, Lesson>();
  const problems: LessonProblem[] = [];
  for (const dir of [SHIPPED_LESSONS_DIR, config.lessonsDir]) {
    if (!dir || !existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      const file = path.join(dir, name);
      try {
        const result = Lesson.safeParse(parse(readFileSync(file, 'utf8')));
        if (result.success) byId.set(result.data.id, result.data);
        else
          problems.push({
            file,
            problem: result.error.issues
              .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
              .join('; '),
          });
      } catch (err) {
        problems.push({ file, problem: `not valid YAML: ${(err as Error).message.split('\n')[0]}` });
      }
    }
  }
  return { lessons: [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1)), problems };
}

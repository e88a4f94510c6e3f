import { DateTime } from 'luxon';
import type { Runtime } from '../compose.js';
import { KaizenError, NotFoundError } from '../errors.js';
import type { Lesson } from '../propose/context/lesson.js';
import {
  loadLessons,
  readLessonFile,
  writeLessonFile,
  type LessonFile,
  type LoadedLessons,
} from './lesson-files.js';

type LessonDeps = Pick<Runtime, 'config' | 'store' | 'clock'>;

/** Read the lesson folders and make the store's index match them; problems are returned, not thrown. */
export function refreshLessons(deps: LessonDeps): LoadedLessons {
  const loaded = loadLessons(deps.config);
  deps.store.lessons.sync(loaded.files, deps.clock.now());
  return loaded;
}

export function findLesson(loaded: LoadedLessons, id: string): LessonFile {
  const found = loaded.files.find((f) => f.lesson.id === id);
  if (!found) throw new NotFoundError(`no lesson ${JSON.stringify(id)}: "kaizen lessons" lists them`);
  return found;
}

/** Today in the configured time zone, as lessons write dates. */
export function lessonDate(deps: Pick<Runtime, 'config' | 'clock'>): string {
  return DateTime.fromMillis(deps.clock.now(), { zone: deps.config.timeZone }).toISODate() ?? '';
}

/**
 * Add a lesson file to this system's lessons folder. An id that exists already (shipped or local)
 * is refused unless `replace`: a local copy then overrides it.
 */
export function addLesson(
  deps: LessonDeps,
  sourceFile: string,
  options: { replace?: boolean; actor: string },
): { lesson: Lesson; file: string; replaced?: string } {
  const read = readLessonFile(sourceFile);
  if ('problem' in read) {
    throw new KaizenError('LESSON_INVALID', `${sourceFile}: ${read.problem}; nothing was added`);
  }
  const loaded = loadLessons(deps.config);
  const existing = loaded.files.find((f) => f.lesson.id === read.lesson.id);
  if (existing && !options.replace) {
    throw new KaizenError(
      'LESSON_EXISTS',
      `lesson ${read.lesson.id} already exists (${existing.file}): use --replace to replace it, or give the new lesson another id`,
    );
  }
  const file = writeLessonFile(deps.config.lessonsDir, read.lesson);
  deps.store.events.append(deps.clock.now(), {
    kind: 'lesson_added',
    data: {
      lesson: read.lesson.id,
      file,
      actor: options.actor,
      ...(existing ? { replaced: existing.file } : {}),
    },
  });
  refreshLessons(deps);
  return { lesson: read.lesson, file, ...(existing ? { replaced: existing.file } : {}) };
}

/**
 * Retire a lesson: it stays on file with when and why, and stops matching. A shipped lesson is
 * retired by a local copy, so kaizen's own install is never written to.
 */
export function retireLesson(
  deps: LessonDeps,
  id: string,
  options: { why: string; actor: string },
): { lesson: Lesson; file: string } {
  const why = options.why.trim();
  if (why === '') throw new KaizenError('USAGE', '--why: say why the lesson no longer applies');
  const { lesson } = findLesson(loadLessons(deps.config), id);
  if (lesson.status === 'retired') {
    throw new KaizenError(
      'USAGE',
      `lesson ${id} is already retired (${lesson.retired_at ?? 'date unknown'}: ${lesson.retired_why ?? 'no reason recorded'})`,
    );
  }
  const retired: Lesson = { ...lesson, status: 'retired', retired_at: lessonDate(deps), retired_why: why };
  const file = writeLessonFile(deps.config.lessonsDir, retired);
  deps.store.events.append(deps.clock.now(), {
    kind: 'lesson_retired',
    data: { lesson: id, why, actor: options.actor, file },
  });
  refreshLessons(deps);
  return { lesson: retired, file };
}

export interface LessonCitation {
  intervention: string;
  state: string;
  how: 'cited' | 'argued_against';
  why?: string;
}

/** The interventions whose proposals cited a lesson or argued against it, oldest first. */
export function lessonCitations(deps: Pick<Runtime, 'store'>, id: string): LessonCitation[] {
  const out: LessonCitation[] = [];
  for (const iv of deps.store.interventions.list({ limit: 100_000 }).reverse()) {
    if (iv.proposal.citesLessons.includes(id))
      out.push({ intervention: iv.id, state: iv.state, how: 'cited' });
    for (const a of iv.proposal.arguesAgainst)
      if (a.lesson === id)
        out.push({ intervention: iv.id, state: iv.state, how: 'argued_against', why: a.why });
  }
  return out;
}

import type { Runtime } from '../compose.js';
import { loadLessons } from '../learn/lesson-files.js';
import type { State } from '../loop/states.js';
import type { Lesson } from '../propose/context/lesson.js';
import { stateAt, type Tracked } from './timeline.js';
import { isoDate, type IsoWeek } from './week.js';

/*
 * The lessons part of the weekly report: created and retired that week (lesson files write
 * calendar dates, compared in the configured zone), how often proposals cited or argued against
 * each, and the proposals that cite a lesson with a scan rule (its failure class found in the code
 * again). Reads the lesson files through the store's index, synced first.
 */

export interface LessonLine {
  id: string;
  scope: string;
  source: Lesson['source'];
  status: Lesson['status'];
  createdAt: string;
  retiredAt: string | null;
  retiredWhy: string | null;
  when: string;
}

export interface LessonFigures {
  active: number;
  retired: number;
  created: LessonLine[];
  retiredThisWeek: LessonLine[];
  /** Citations by interventions proposed in the trend window, most first. */
  mostCited: { id: string; cited: number; arguedAgainst: number; status: Lesson['status'] }[];
  /** Active lessons no intervention has ever cited. */
  neverCited: LessonLine[];
  problems: number;
}

export interface ScanCatch {
  interventionId: string;
  lesson: string;
  title: string;
  state: State;
}

export function lessonFigures(
  deps: Pick<Runtime, 'config' | 'store' | 'clock'>,
  tracked: readonly Tracked[],
  week: IsoWeek,
  windowStart: number,
  until: number,
): { lessons: LessonFigures; scanCatches: ScanCatch[] } {
  const loaded = loadLessons(deps.config);
  deps.store.lessons.sync(loaded.files, deps.clock.now());
  // Lesson files write calendar dates: compare them with the week's dates in the same zone.
  const first = isoDate(week.start, week.timeZone);
  const next = isoDate(week.end, week.timeZone);
  const day = (d: string | undefined) => d?.slice(0, 10);
  const lessons = deps.store.lessons
    .list()
    .map((l) => l.lesson)
    .filter((l) => day(l.created_at)! < next);
  const retiredBy = (l: Lesson, date: string) =>
    l.status === 'retired' && (l.retired_at === undefined || day(l.retired_at)! < date);
  const line = (l: Lesson): LessonLine => ({
    id: l.id,
    scope: l.scope,
    source: l.source,
    status: retiredBy(l, next) ? 'retired' : 'active',
    createdAt: day(l.created_at)!,
    retiredAt: day(l.retired_at) ?? null,
    retiredWhy: l.retired_why ?? null,
    when: l.when,
  });

  const counts = new Map<string, { cited: number; arguedAgainst: number }>();
  const mentioned = new Set<string>();
  for (const t of tracked) {
    const cites = new Set(t.iv.proposal.citesLessons);
    const argued = new Set(t.iv.proposal.arguesAgainst.map((a) => a.lesson));
    for (const id of [...cites, ...argued]) mentioned.add(id);
    if (t.iv.createdAt < windowStart) continue;
    for (const id of new Set([...cites, ...argued])) {
      const c = counts.get(id) ?? { cited: 0, arguedAgainst: 0 };
      if (cites.has(id)) c.cited++;
      if (argued.has(id)) c.arguedAgainst++;
      counts.set(id, c);
    }
  }
  const lines = lessons.map(line);
  const statusOf = new Map(lines.map((l) => [l.id, l.status]));
  const withScan = new Set(lessons.filter((l) => l.scan).map((l) => l.id));
  const scanCatches = tracked.flatMap((t) =>
    t.iv.createdAt >= week.start && t.iv.createdAt < until
      ? t.iv.proposal.citesLessons
          .filter((id) => withScan.has(id))
          .map((lesson) => ({
            interventionId: t.iv.id,
            lesson,
            title: t.iv.proposal.title,
            state: stateAt(t, until)!,
          }))
      : [],
  );
  return {
    lessons: {
      active: lines.filter((l) => l.status === 'active').length,
      retired: lines.filter((l) => l.status === 'retired').length,
      created: lines.filter((l) => l.createdAt >= first),
      retiredThisWeek: lines.filter(
        (l) => l.retiredAt !== null && l.retiredAt >= first && l.retiredAt < next,
      ),
      mostCited: [...counts]
        .filter(([id, c]) => statusOf.has(id) && c.cited > 0)
        .map(([id, c]) => ({ id, ...c, status: statusOf.get(id)! }))
        .sort((a, b) => b.cited - a.cited || a.id.localeCompare(b.id))
        .slice(0, 5),
      neverCited: lines.filter((l) => l.status === 'active' && !mentioned.has(l.id)),
      problems: loaded.problems.length,
    },
    scanCatches,
  };
}

import path from 'node:path';
import { UsageError } from '../errors.js';
import { lessonToYaml } from '../learn/lesson-files.js';
import { addLesson, findLesson, lessonCitations, refreshLessons, retireLesson } from '../learn/lesson-ops.js';
import type { Lesson } from '../propose/context/lesson.js';
import { formatTable, printJson, type Io } from './io.js';
import { person } from './person.js';
import { withRuntime } from './runtime.js';

interface Common {
  config?: string;
  json?: boolean;
}

const STATUSES = ['active', 'retired'] as const;
const SOURCES = ['human', 'distilled', 'imported'] as const;

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} ${JSON.stringify(value)}: expected ${allowed.join(' or ')}`);
}

/** Problems in lesson files are warnings: a bad lesson is skipped, never fatal. */
function warnProblems(io: Io, problems: readonly { file: string; problem: string }[]): void {
  for (const p of problems) io.err(`kaizen: skipped lesson file ${p.file}: ${p.problem}`);
}

export async function list(
  opts: Common & { scope?: string; status?: string; source?: string },
  io: Io,
): Promise<void> {
  const status = oneOf('--status', opts.status, STATUSES);
  const source = oneOf('--source', opts.source, SOURCES);
  await withRuntime(opts, async (rt) => {
    const loaded = refreshLessons(rt);
    warnProblems(io, loaded.problems);
    const rows = rt.store.lessons.list({
      ...(opts.scope !== undefined ? { scope: opts.scope } : {}),
      ...(status ? { status } : {}),
      ...(source ? { source } : {}),
    });
    if (opts.json)
      return printJson(
        io,
        rows.map((r) => ({ ...r.lesson, file: r.file, origin: r.origin })),
      );
    if (rows.length === 0) return io.out('no lessons match');
    io.out(
      formatTable(
        ['ID', 'STATUS', 'SOURCE', 'SCOPE', 'SCAN', 'PREFER'],
        rows.map(({ lesson: l }) => [
          l.id,
          l.status,
          l.source,
          l.scope,
          l.scan ? 'yes' : '',
          clip(l.prefer, 70),
        ]),
      ),
    );
    io.out(`\n${rows.length} lesson(s); "kaizen lessons show ID" shows one whole`);
  });
}

export async function show(id: string, opts: Common, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const loaded = refreshLessons(rt);
    warnProblems(io, loaded.problems);
    const found = findLesson(loaded, id);
    const citations = lessonCitations(rt, id);
    if (opts.json)
      return printJson(io, { ...found.lesson, file: found.file, origin: found.origin, citations });
    io.out(
      `# ${found.file} (${found.origin === 'shipped' ? 'shipped with kaizen' : "this system's lessons folder"})`,
    );
    io.out(lessonToYaml(found.lesson).trimEnd());
    io.out('');
    if (citations.length === 0) io.out('not cited or argued against by any intervention yet');
    for (const c of citations)
      io.out(
        c.how === 'cited'
          ? `cited by ${c.intervention} (${c.state})`
          : `argued against by ${c.intervention} (${c.state}): ${c.why ?? ''}`,
      );
  });
}

export async function add(
  file: string,
  opts: Common & { replace?: boolean; by?: string },
  io: Io,
): Promise<void> {
  const actor = person(opts.by);
  await withRuntime(opts, async (rt) => {
    const r = addLesson(rt, path.resolve(file), { ...(opts.replace ? { replace: true } : {}), actor });
    if (opts.json) return printJson(io, r);
    io.out(
      `added lesson ${r.lesson.id} (${describe(r.lesson)}) as ${r.file}${r.replaced ? `, replacing ${r.replaced}` : ''}`,
    );
  });
}

export async function retire(id: string, opts: Common & { why: string; by?: string }, io: Io): Promise<void> {
  const actor = person(opts.by);
  await withRuntime(opts, async (rt) => {
    const r = retireLesson(rt, id, { why: opts.why, actor });
    if (opts.json) return printJson(io, r);
    io.out(`retired lesson ${id} (${r.file}): ${opts.why.trim()}`);
  });
}

function describe(l: Lesson): string {
  return `${l.status}, scope ${l.scope}`;
}

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

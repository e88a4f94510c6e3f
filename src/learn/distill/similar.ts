import type { Lesson } from '../../propose/context/lesson.js';

/** Word overlap (Jaccard) of `when` + `prefer` at or above which two lessons say the same thing. */
export const SIMILARITY = 0.8;

/** An active lesson that says the same as `draft` in other words, if any (most similar first). */
export function similarLesson(draft: Lesson, lessons: readonly Lesson[]): Lesson | undefined {
  const words = wordsOf(draft);
  let best: { lesson: Lesson; score: number } | undefined;
  for (const l of lessons) {
    if (l.status !== 'active' || l.id === draft.id || l.scope !== draft.scope) continue;
    const score = jaccard(words, wordsOf(l));
    if (score >= SIMILARITY && (!best || score > best.score)) best = { lesson: l, score };
  }
  return best?.lesson;
}

function wordsOf(l: Lesson): Set<string> {
  return new Set(`${l.when} ${l.prefer}`.toLowerCase().match(/[a-z0-9_]+/g) ?? []);
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let both = 0;
  for (const w of a) if (b.has(w)) both++;
  return both / (a.size + b.size - both);
}

import { repoRelative } from '../util/paths.js';
import picomatch from 'picomatch';
import type { FileEdit } from '../apply/changes.js';
import { RISKS, type Proposal, type Risk } from '../propose/proposal.js';
import type { ExecutedFile } from './executed.js';
import type { GuardPolicy } from './policy.js';
import type { RiskAssessment } from './types.js';

const max = (a: Risk, b: Risk): Risk => (RISKS.indexOf(a) >= RISKS.indexOf(b) ? a : b);

/**
 * The risk floor of a change, from what it touches and how much — never from what the proposal
 * says about itself, so text an attacker planted in a log cannot talk a change down to "low".
 */
export { repoRelative };

/** What the floor knows of the repo beyond the proposal itself. */
export interface RiskFacts {
  /** The planned edits (before and after of each file), when the change applies. */
  edits?: readonly FileEdit[];
  /** The files the target's config makes kaizen run (guard/executed.ts). */
  executed?: readonly ExecutedFile[];
}

/** A change leaving less than this share of a file's text deletes most of it. */
export const MOST_OF_A_FILE = 0.5;
/** ...and only counts when it removes at least this many bytes (a one-line file rewritten is not a deletion). */
const MIN_DELETED_BYTES = 100;

export function assessRisk(proposal: Proposal, policy: GuardPolicy, facts: RiskFacts = {}): RiskAssessment {
  const { risk } = policy;
  const reasons: string[] = [];
  let floor: Risk = 'low';
  const raise = (to: Risk, why: string) => {
    if (RISKS.indexOf(to) > RISKS.indexOf(floor)) floor = to;
    if (to !== 'low') reasons.push(why);
  };

  if (risk.mediumKinds.includes(proposal.kind)) raise('medium', `kind ${proposal.kind}`);

  // Without a trailing slash: the path check reads "Dockerfile/" as Dockerfile, and so must the floor
  // ("**/Dockerfile" does not match "Dockerfile/").
  const paths = [
    ...new Set(
      proposal.changes.flatMap((c) =>
        c.kind === 'runbook' ? [] : [repoRelative(c.path).replace(/\/+$/, '')],
      ),
    ),
  ];
  const high = picomatch(risk.highPaths, { dot: true, nocase: true });
  const sensitive = paths.filter((p) => high(p));
  if (sensitive.length)
    raise('high', `touches ${sensitive.join(', ')} (schema, migration, build, deploy or CI)`);
  // Files kaizen itself runs next: the deploy's script, runbooks, signal commands (from the config).
  const run = new Map((facts.executed ?? []).map((f) => [f.rel.toLowerCase(), f]));
  for (const p of paths) {
    const f = run.get(p.toLowerCase());
    if (f)
      raise('high', `touches ${p}, which kaizen runs (${f.why}): a person reviews code kaizen would execute`);
  }
  const tests = picomatch(risk.testPaths, { dot: true, nocase: true });
  const testFiles = paths.filter((p) => tests(p));
  if (testFiles.length)
    raise(
      'medium',
      `touches test files (${testFiles.join(', ')}): tests and checks guard behaviour, and weakening them hides a regression`,
    );
  for (const e of facts.edits ?? []) {
    const before = e.before === null ? 0 : Buffer.byteLength(e.before, 'utf8');
    const after = Buffer.byteLength(e.after, 'utf8');
    if (before - after >= MIN_DELETED_BYTES && after < before * MOST_OF_A_FILE)
      raise(
        'medium',
        `deletes most of ${e.rel} (${before - after} of ${before} bytes): removing code or checks needs a person's eye`,
      );
  }
  if (paths.length > risk.maxLowFiles) raise('medium', `${paths.length} files`);

  const lines = proposal.changes.reduce((n, c) => n + changedLines(c), 0);
  const bytes = proposal.changes.reduce((n, c) => n + changedBytes(c), 0);
  if (bytes > 16 * risk.maxLowBytes) raise('high', `${bytes} bytes of new text`);
  else if (bytes > risk.maxLowBytes) raise('medium', `${bytes} bytes of new text`);

  if (lines > 5 * risk.maxLowLines) raise('high', `${lines} changed lines`);
  else if (lines > risk.maxLowLines) raise('medium', `${lines} changed lines`);

  return { declared: proposal.risk, floor, effective: max(proposal.risk, floor), reasons };
}

function changedLines(c: Proposal['changes'][number]): number {
  const count = (s: string) => (s === '' ? 0 : s.split('\n').length);
  switch (c.kind) {
    case 'edit':
      return Math.max(count(c.search), count(c.replace));
    case 'write':
      return count(c.content);
    case 'config_set':
      return Math.max(1, count(JSON.stringify(c.value, null, 1)));
    case 'runbook':
      return 0;
  }
}

/**
 * A proposal's path as the repo-relative path it names (`./db/../db/migrations/1.sql` →
 * `db/migrations/1.sql`), the same normalisation the path check applies, so a change cannot dodge
 * a pattern by spelling its path differently.
 */

function changedBytes(c: Proposal['changes'][number]): number {
  const size = (s: string) => Buffer.byteLength(s, 'utf8');
  switch (c.kind) {
    case 'edit':
      return size(c.replace);
    case 'write':
      return size(c.content);
    case 'config_set':
      return size(JSON.stringify(c.value) ?? '');
    case 'runbook':
      return 0;
  }
}

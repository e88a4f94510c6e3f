import { compileLinear } from '../../util/linear-regex.js';

/*
 * What a lesson's scan rule may be. Scan rules reach kaizen from people (`kaizen lessons add`), from
 * the distiller's model and from peers (signed, but written elsewhere), and run over the target's
 * code in every Propose cycle, so none may be able to stall one (issue 18):
 *
 * - `pattern` and `unless` run on kaizen's linear-time regex engine (RE2, see util/linear-regex.ts);
 *   a pattern it cannot run (lookaround, backreferences) is refused with the reason.
 * - `files` is a glob matched by picomatch, which compiles it to a backtracking RegExp that is run
 *   on every path of the repository: a glob such as `{*a*a,*a*a}{*a*a,*a*a}b` or
 *   `**\/a/**\/a/**\/a/**\/b` takes seconds to minutes on one long path. Globs are kept to the shapes
 *   whose matching stays polynomial of a low degree on paths a few hundred characters long: at most
 *   MAX_GLOB_STARS `*` wildcards and MAX_GLOBSTARS `**` segments, MAX_GLOB_WILDCARDS in all, no
 *   extglobs, and a bounded length (`*a*a*a*b` took 0.9 s on one 255-character file name). Every shipped glob (`**\/*{breaker,circuit}*.{py,js}`) fits well within that.
 */

export const MAX_GLOB_CHARS = 200;
/** `*` wildcards in a glob, besides `**` segments. */
export const MAX_GLOB_STARS = 3;
/** `**` segments in a glob. */
export const MAX_GLOBSTARS = 2;
/** Both together: `**\/a/**\/*a*b` (4) takes under 0.1 s on a path 300 folders deep. */
export const MAX_GLOB_WILDCARDS = 4;

export interface ScanRuleIssue {
  field: 'pattern' | 'unless' | 'files';
  message: string;
}

/** What is wrong with a scan rule, field by field (empty when kaizen can run it). */
export function scanRuleIssues(scan: {
  pattern: string;
  unless?: string | undefined;
  files: string;
}): ScanRuleIssue[] {
  const issues: ScanRuleIssue[] = [];
  for (const field of ['pattern', 'unless'] as const) {
    const source = scan[field];
    if (source === undefined) continue;
    const compiled = compileLinear(source);
    if (!compiled.ok)
      issues.push({
        field,
        message: `the ${field === 'unless' ? '"unless" pattern' : 'pattern'} ${compiled.reason}`,
      });
  }
  const glob = globProblem(scan.files);
  if (glob) issues.push({ field: 'files', message: glob });
  return issues;
}

/** Why a glob is refused, or undefined when it is fine. */
export function globProblem(glob: string): string | undefined {
  if (glob.length > MAX_GLOB_CHARS) {
    return `the glob is ${glob.length} characters long, more than the ${MAX_GLOB_CHARS} a scan glob may have`;
  }
  const ext = /[@!+*?]\(/.exec(glob);
  if (ext) {
    return `the glob uses the extglob ${JSON.stringify(ext[0])}, which kaizen does not accept in scan globs (its matching can take exponential time): use braces, e.g. **/*.{py,ts}`;
  }
  const segments = glob.split('/');
  const globstars = segments.filter((s) => s === '**').length;
  const stars = segments.filter((s) => s !== '**').reduce((n, s) => n + (s.match(/\*+/g)?.length ?? 0), 0);
  if (globstars > MAX_GLOBSTARS || stars > MAX_GLOB_STARS || globstars + stars > MAX_GLOB_WILDCARDS) {
    return `the glob has ${globstars} "**" segment(s) and ${stars} other "*" wildcard(s); a scan glob may have at most ${MAX_GLOBSTARS} and ${MAX_GLOB_STARS}, ${MAX_GLOB_WILDCARDS} in all (matching more takes time that grows steeply with the length of a path): name the files more plainly, e.g. **/*.{py,ts}`;
  }
  return undefined;
}

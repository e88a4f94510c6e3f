import { printable, printableLine } from '../util/printable.js';
import type { Intervention } from '../store/interventions.js';

export const TRAILER = 'Kaizen-Intervention';
export const REVERT_TRAILER = 'Kaizen-Revert-Of';

/** The commit message of an intervention: what, why, the prediction, and the trailer. */
export function commitMessage(iv: Intervention): string {
  const p = iv.proposal;
  const pred = p.prediction;
  const magnitude = pred.relative ? `${Math.round(pred.magnitude * 100)} %` : String(pred.magnitude);
  return [
    `kaizen: ${printableLine(p.title)}`,
    '',
    printable(p.hypothesis),
    '',
    `Predicted: ${pred.signal} ${pred.direction} by ${magnitude}`,
    `Risk: ${iv.risk}; rollback: ${printable(p.rollback)}`,
    '',
    `${TRAILER}: ${iv.id}`,
  ].join('\n');
}

/**
 * Text from outside kaizen in a commit message (a deploy's last line, a health failure): control
 * characters shown as escapes, and anything shaped like kaizen's trailers defused, since recovery
 * and revert find commits by those trailers.
 */
function quoted(text: string): string {
  return printable(text).replace(/(kaizen-(?:intervention|revert-of))(\s*:)/gi, '$1 (quoted)$2');
}

export function revertMessage(iv: Intervention, commitSha: string, why: string): string {
  return [
    `kaizen: revert "${printableLine(iv.proposal.title)}"`,
    '',
    quoted(why),
    '',
    `${TRAILER}: ${iv.id}`,
    `${REVERT_TRAILER}: ${commitSha}`,
  ].join('\n');
}

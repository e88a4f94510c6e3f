import type { Intervention } from '../store/interventions.js';

export const TRAILER = 'Kaizen-Intervention';
export const REVERT_TRAILER = 'Kaizen-Revert-Of';

/** The commit message of an intervention: what, why, the prediction, and the trailer. */
export function commitMessage(iv: Intervention): string {
  const p = iv.proposal;
  const pred = p.prediction;
  const magnitude = pred.relative ? `${Math.round(pred.magnitude * 100)} %` : String(pred.magnitude);
  return [
    `kaizen: ${p.title}`,
    '',
    p.hypothesis,
    '',
    `Predicted: ${pred.signal} ${pred.direction} by ${magnitude}`,
    `Risk: ${iv.risk}; rollback: ${p.rollback}`,
    '',
    `${TRAILER}: ${iv.id}`,
  ].join('\n');
}

export function revertMessage(iv: Intervention, commitSha: string, why: string): string {
  return [
    `kaizen: revert "${iv.proposal.title}"`,
    '',
    why,
    '',
    `${TRAILER}: ${iv.id}`,
    `${REVERT_TRAILER}: ${commitSha}`,
  ].join('\n');
}

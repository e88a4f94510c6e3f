import { formatDuration } from '../util/duration.js';
import type { WeeklyData } from './data.js';

/*
 * The deterministic ranking of next moves, used when no model is configured or the model's answer
 * could not be used. The order is by kind, then by size within a kind: what needs a person now
 * (escalations, frozen areas) before what kaizen cannot see (silent alerts) before what waits on
 * a person (backlog) before what is not working (repeated no_effect, poor calibration).
 */

export type NextMoveKind = 'escalation' | 'frozen' | 'silent_alert' | 'backlog' | 'no_effect' | 'calibration';

export interface NextMove {
  kind: NextMoveKind;
  title: string;
  why: string;
}

/** Moves shown at most. */
export const MAX_NEXT_MOVES = 8;
/** A prompt/model whose mean calibration error is above this (with enough points) is worth a look. */
export const POOR_CALIBRATION = 0.5;
const MIN_CALIBRATION_POINTS = 2;

export function rankNextMoves(data: WeeklyData): NextMove[] {
  const moves: NextMove[] = [];
  for (const e of data.freezes.escalations) {
    moves.push({
      kind: 'escalation',
      title: `Look at ${e.interventionId ?? e.target ?? 'the target'}: kaizen escalated it`,
      why: e.why || 'kaizen could not restore health on its own',
    });
  }
  for (const f of data.freezes.frozen.filter((f) => f.stillFrozen)) {
    moves.push({
      kind: 'frozen',
      title: `Find out why changes in area ${f.area} keep failing`,
      why: `frozen after consecutive rollbacks (${f.interventions.join(', ')}); nothing is proposed or applied there until it thaws`,
    });
  }
  for (const s of data.blindSpots.silentAlerts) {
    moves.push({
      kind: 'silent_alert',
      title: `Give kaizen a way to act on ${s.signal}`,
      why: `it alerted ${s.episodes} time${s.episodes === 1 ? '' : 's'} (${formatDuration(s.alertMs)} in all, threshold ${s.threshold}) and nothing was proposed: add a rule, an area or a lesson for it`,
    });
  }
  for (const b of data.blindSpots.backlog) {
    moves.push({
      kind: 'backlog',
      title: `Decide on ${b.id} (${b.title})`,
      why: `waiting ${formatDuration(b.waitingMs)} in the backlog: ${b.reason}`,
    });
  }
  for (const a of data.blindSpots.repeatedNoEffect) {
    moves.push({
      kind: 'no_effect',
      title: `Rethink area ${a.area}`,
      why: `${a.count} changes there had no effect (${a.interventions.join(', ')}): the hypothesis or the signal may be wrong`,
    });
  }
  const poorlyCalibrated = data.byOrigin
    .filter(
      (o) =>
        o.calibration.n >= MIN_CALIBRATION_POINTS &&
        o.calibration.meanError !== null &&
        o.calibration.meanError > POOR_CALIBRATION,
    )
    .sort((a, b) => b.calibration.meanError! - a.calibration.meanError!);
  for (const o of poorlyCalibrated) {
    moves.push({
      kind: 'calibration',
      title: `Check the predictions of ${o.label}`,
      why: `mean calibration error ${o.calibration.meanError!.toFixed(2)} over ${o.calibration.n} verdicts; it delivers ${Math.round(o.calibration.meanRealised! * 100)} % of what it predicts`,
    });
  }
  return moves.slice(0, MAX_NEXT_MOVES);
}

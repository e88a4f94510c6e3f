import type { ApplyLog } from '../apply/apply-intervention.js';
import type { SubmitResult } from '../loop/submit.js';
import type { EventRow } from '../store/events.js';
import type { Intervention, Transition } from '../store/interventions.js';
import { formatDuration } from '../util/duration.js';

const sha7 = (s: string | null | undefined) => (s ? s.slice(0, 7) : '-');

/** One line per outcome of a submit or approve. */
export function renderSubmit(r: SubmitResult): string {
  const iv = r.intervention;
  const lines = [
    `${iv.id} ${iv.proposal.title}`,
    `  guard: ${r.guard.decision} (risk ${r.guard.risk.effective}; claimed ${r.guard.risk.declared})`,
  ];
  if (r.guard.decision !== 'pass') for (const reason of r.guard.reasons) lines.push(`    - ${reason}`);
  if (r.apply) {
    const a = r.apply;
    if (a.outcome === 'applied')
      lines.push(
        `  applied: commit ${sha7(iv.commitSha)}; validation window ${formatDuration(iv.windowMs ?? 0)}`,
      );
    if (a.outcome === 'rolled_back') {
      lines.push(
        `  ROLLED BACK: commit ${sha7(iv.commitSha)} reverted by ${sha7(iv.revertSha)}${a.healthyAfter ? '; healthy again' : '; STILL UNHEALTHY'}`,
      );
      lines.push(`    why: ${(iv.applyLog as ApplyLog | null)?.rollback?.reason ?? ''}`);
    }
    if (a.outcome === 'failed') lines.push(`  failed: ${a.reason}`);
  }
  lines.push(`  state: ${iv.state}   (kaizen show ${iv.id})`);
  return lines.join('\n');
}

/** The whole decision chain of one intervention. */
export function renderShow(iv: Intervention, history: Transition[], events: EventRow[]): string {
  const p = iv.proposal;
  const pred = p.prediction;
  const out: string[] = [];
  out.push(`${iv.id}  ${p.title}`);
  out.push(`state     ${iv.state}${iv.waitingReason ? ` (waiting: ${iv.waitingReason})` : ''}`);
  out.push(
    `target    ${iv.target}   area ${iv.area}   kind ${iv.kind}   risk ${iv.risk} (claimed ${p.risk})`,
  );
  out.push(`origin    ${iv.origin}${p.trigger ? `   trigger: ${p.trigger}` : ''}`);
  out.push('', 'hypothesis', `  ${p.hypothesis}`);
  out.push(
    `prediction  ${pred.signal} ${pred.direction} by ${pred.relative ? `${Math.round(pred.magnitude * 100)} %` : pred.magnitude}`,
  );
  out.push(`rollback    ${p.rollback}${p.backup ? `   backup: ${p.backup}` : ''}`);
  if (p.citesLessons.length) out.push(`cites       ${p.citesLessons.join(', ')}`);
  for (const a of p.arguesAgainst) out.push(`argues against ${a.lesson}: ${a.why}`);
  out.push('', 'changes');
  for (const c of p.changes) {
    if (c.kind === 'edit')
      out.push(
        `  edit ${c.path}: ${JSON.stringify(c.search).slice(0, 60)} → ${JSON.stringify(c.replace).slice(0, 60)}`,
      );
    if (c.kind === 'write') out.push(`  write ${c.path} (${c.content.length} bytes)`);
    if (c.kind === 'config_set') out.push(`  set ${c.path} ${c.key} = ${JSON.stringify(c.value)}`);
    if (c.kind === 'runbook') out.push(`  runbook ${c.action} ${JSON.stringify(c.params)}`);
  }
  const guard = iv.guard as { checks?: { check: string; decision: string; reason: string }[] } | null;
  if (guard?.checks) {
    out.push('', 'guard');
    for (const c of guard.checks) out.push(`  ${c.decision.padEnd(6)} ${c.check.padEnd(12)} ${c.reason}`);
  }
  out.push('', 'git');
  out.push(
    `  base ${sha7(iv.baseSha)}   pre-apply ${sha7(iv.preApplySha)}   commit ${sha7(iv.commitSha)}   revert ${sha7(iv.revertSha)}`,
  );
  const log = iv.applyLog as ApplyLog | null;
  if (log?.deploy)
    out.push(
      `  deploy: ${log.deploy.ok ? 'ok' : 'FAILED'} (exit ${log.deploy.exitCode}${log.deploy.timedOut ? ', timed out' : ''}) ${tail(log.deploy.output)}`,
    );
  if (log?.health)
    out.push(
      `  health: ${log.health.healthy ? 'healthy' : 'UNHEALTHY'} after ${log.health.attempts.length} probe(s)${probeNote(log.health.attempts)}`,
    );
  if (log?.runbook) out.push(`  runbook: ${log.runbook.command.join(' ')} → exit ${log.runbook.exitCode}`);
  if (log?.rollback) {
    out.push(`  rollback: ${log.rollback.reason}`);
    if (log.rollback.redeploy)
      out.push(
        `    redeploy: ${log.rollback.redeploy.ok ? 'ok' : 'FAILED'} ${tail(log.rollback.redeploy.output)}`,
      );
    if (log.rollback.health)
      out.push(`    health after: ${log.rollback.health.healthy ? 'healthy' : 'UNHEALTHY'}`);
  }
  const verdict = iv.verdict as { outcome?: string; reason?: string } | null;
  if (verdict?.outcome) out.push('', `verdict   ${verdict.outcome}: ${verdict.reason}`);
  out.push('', 'history');
  for (const h of history)
    out.push(
      `  ${new Date(h.at).toISOString()}  ${(h.from ?? '-').padEnd(11)} → ${h.to.padEnd(12)} by ${h.actor}: ${h.reason}`,
    );
  if (events.length) {
    out.push('', 'events');
    for (const e of [...events].reverse()) out.push(`  ${new Date(e.t).toISOString()}  ${e.kind}`);
  }
  return out.join('\n');
}

function probeNote(attempts: { ok: boolean; failure?: string }[]): string {
  const last = attempts.filter((a) => !a.ok).at(-1);
  return last ? `; last failure: ${last.failure}` : '';
}

function tail(text: string): string {
  const line = text.trim().split('\n').at(-1) ?? '';
  return line ? `— ${line.slice(0, 120)}` : '';
}

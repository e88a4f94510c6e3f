import { Fragment, type ComponentChildren } from 'preact';
import { Actions } from '../actions.js';
import { apiPath, type BacklogItem, type Change, type InterventionDetail } from '../api.js';
import { PageLink, RiskBadge, Row, Show, StateBadge, useApi } from '../components.js';
import { formatPrediction, formatTime, stateLabel } from '../format.js';
import { WaitReason } from './backlog.js';

/**
 * One intervention with its whole decision chain: what set it off, what was believed, what was
 * done (with the SHAs), what was predicted, what came of it and which lessons it leaned on or
 * taught; then the guard's checks, the changes, every transition and every event. While it waits,
 * the approve and reject controls; once applied, revert. `/backlog/<id>` (the notifications' link)
 * and `/interventions/<id>` both show it.
 */
export function InterventionPage({ id }: { id: string }) {
  const loaded = useApi<InterventionDetail>(apiPath('interventions', id));
  const waiting = loaded.data?.intervention.state === 'backlog';
  const backlog = useApi<{ items: BacklogItem[] }>(waiting ? '/api/backlog' : undefined);
  return (
    <Show loaded={loaded}>
      {(d) => {
        const iv = d.intervention;
        const entered = d.history.findLast((h) => h.to === 'backlog')?.at ?? iv.createdAt;
        return (
          <>
            <h1>
              {iv.id} <span class="title">{iv.proposal.title}</span>
            </h1>
            <p class="meta">
              <StateBadge state={iv.state} /> <RiskBadge risk={iv.risk} /> target <strong>{iv.target}</strong>
              , area <strong>{iv.area}</strong>, {iv.kind}, proposed by {iv.origin} at{' '}
              {formatTime(iv.createdAt)}
            </p>
            {waiting ? (
              <WaitReason
                why={iv.waitingReason}
                since={entered}
                expiry={backlog.data?.items.find((i) => i.id === iv.id)}
              />
            ) : null}
            <Actions id={iv.id} state={iv.state} onDone={loaded.reload} />
            <Chain d={d} />
            <GuardChecks d={d} />
            <Changes changes={iv.proposal.changes} />
            <History d={d} />
            <Events d={d} />
          </>
        );
      }}
    </Show>
  );
}

function Chain({ d }: { d: InterventionDetail }) {
  const { chain, intervention: iv } = d;
  const p = chain.prediction;
  const lessons = (ids: string[]) =>
    ids.length ? <LinkList items={ids.map((l) => [l, ['lessons', l]])} /> : null;
  return (
    <section aria-label="Decision chain">
      <h2>Decision chain</h2>
      <dl class="chain">
        <Row label="Trigger">{chain.trigger}</Row>
        <Row label="Diagnosis">{chain.diagnosis}</Row>
        <Row label="Action">
          {chain.action.title} ({chain.action.kind} in area {chain.action.area}, {chain.action.changes}{' '}
          {chain.action.changes === 1 ? 'change' : 'changes'})
        </Row>
        <Row label="Guard">{chain.action.guard}</Row>
        <Row label="Pre-apply HEAD">{iv.preApplySha ? <code class="sha">{iv.preApplySha}</code> : null}</Row>
        <Row label="Commit">
          {chain.action.commitSha ? <code class="sha commit-sha">{chain.action.commitSha}</code> : null}
        </Row>
        <Row label="Revert commit">
          {chain.action.revertSha ? <code class="sha">{chain.action.revertSha}</code> : null}
        </Row>
        <Row label="Applied">{iv.appliedAt === null ? null : formatTime(iv.appliedAt)}</Row>
        <Row label="Prediction">
          <PageLink to={['signals', iv.target, p.signal]}>{formatPrediction(p)}</PageLink>
        </Row>
        <Row label="Outcome">
          {stateLabel(chain.outcome.state)}
          {chain.outcome.verdict ? `: verdict ${chain.outcome.verdict}` : ''}
          {chain.outcome.reason ? ` (${chain.outcome.reason})` : ''}
        </Row>
        <Row label="Rollback">{iv.proposal.rollback}</Row>
        <Row label="Lessons cited">{lessons(chain.lessons.cited)}</Row>
        <Row label="Argued against">
          {chain.lessons.arguedAgainst.length ? (
            <ul class="plain">
              {chain.lessons.arguedAgainst.map((a) => (
                <li key={a.lesson}>
                  <PageLink to={['lessons', a.lesson]}>{a.lesson}</PageLink>: {a.why}
                </li>
              ))}
            </ul>
          ) : null}
        </Row>
        <Row label="Lessons learnt">{lessons(chain.lessons.learned)}</Row>
      </dl>
    </section>
  );
}

function LinkList({ items }: { items: [string, string[]][] }) {
  return (
    <>
      {items.map(([label, to], i) => (
        <Fragment key={label}>
          {i > 0 ? ', ' : ''}
          <PageLink to={to}>{label}</PageLink>
        </Fragment>
      ))}
    </>
  );
}

function GuardChecks({ d }: { d: InterventionDetail }) {
  const guard = d.intervention.guard;
  const checks = guard?.checks ?? [];
  return (
    <Section title="Guard">
      {guard?.decision ? (
        <p>
          Decision: <strong>{guard.decision}</strong>
          {guard.reasons?.length ? `: ${guard.reasons.join('; ')}` : ''}
        </p>
      ) : (
        <p class="muted">The guard has not judged it.</p>
      )}
      {checks.length ? (
        <table>
          <thead>
            <tr>
              <th>check</th>
              <th>decision</th>
              <th>reason</th>
            </tr>
          </thead>
          <tbody>
            {checks.map((c) => (
              <tr key={c.check}>
                <td>{c.check}</td>
                <td class={`decision-${c.decision}`}>{c.decision}</td>
                <td>{c.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

function Changes({ changes }: { changes: Change[] }) {
  return (
    <Section title="Changes">
      <ol class="changes">
        {changes.map((c, i) => (
          <li key={i}>
            <strong>{c.kind}</strong> <code>{c.path ?? c.action}</code>
            {c.kind === 'config_set' ? (
              <>
                {' '}
                <code>{c.key}</code> = <code>{JSON.stringify(c.value)}</code>
              </>
            ) : null}
            {c.kind === 'edit' ? (
              <div class="diff">
                <pre class="del">{c.search}</pre>
                <pre class="add">{c.replace}</pre>
              </div>
            ) : null}
            {c.kind === 'write' ? <pre>{c.content}</pre> : null}
            {c.kind === 'runbook' && c.params && Object.keys(c.params).length ? (
              <pre>{JSON.stringify(c.params, null, 2)}</pre>
            ) : null}
          </li>
        ))}
      </ol>
    </Section>
  );
}

function History({ d }: { d: InterventionDetail }) {
  return (
    <Section title="History">
      <table class="history">
        <thead>
          <tr>
            <th>when</th>
            <th>from</th>
            <th>to</th>
            <th>who</th>
            <th>why</th>
          </tr>
        </thead>
        <tbody>
          {d.history.map((h, i) => (
            <tr key={i}>
              <td class="nowrap">{formatTime(h.at)}</td>
              <td>{h.from ? stateLabel(h.from) : '—'}</td>
              <td>
                <StateBadge state={h.to} />
              </td>
              <td>{h.actor}</td>
              <td>{h.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function Events({ d }: { d: InterventionDetail }) {
  if (d.events.length === 0) return null;
  return (
    <Section title="Events">
      <table>
        <thead>
          <tr>
            <th>when</th>
            <th>event</th>
            <th>data</th>
          </tr>
        </thead>
        <tbody>
          {d.events.map((e) => (
            <tr key={e.id}>
              <td class="nowrap">{formatTime(e.t)}</td>
              <td>{e.kind}</td>
              <td>
                <pre class="data">{JSON.stringify(e.data, null, 2)}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

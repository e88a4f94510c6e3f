import { useState } from 'preact/hooks';
import { Actions } from '../actions.js';
import type { BacklogItem, State } from '../api.js';
import { CredentialsForm, PageLink, RiskBadge, Show, StateBadge, useApi } from '../components.js';
import { formatTime } from '../format.js';

/** What waits for a person, oldest first, each with why it waits and its approve and reject controls. */
export function BacklogPage() {
  const loaded = useApi<{ items: BacklogItem[] }>('/api/backlog');
  return (
    <>
      <h1>Backlog</h1>
      <p class="muted">
        Proposals the guard deferred: they wait for a person, or for what blocks them to clear. Approving
        guards a proposal again against today's HEAD and applies it if it passes.
      </p>
      <Show loaded={loaded}>
        {({ items }) =>
          items.length === 0 ? (
            <p>Nothing waits.</p>
          ) : (
            <>
              <div class="actions">
                <CredentialsForm />
              </div>
              <ul class="cards">
                {items.map((item) => (
                  <BacklogCard key={item.id} item={item} />
                ))}
              </ul>
            </>
          )
        }
      </Show>
    </>
  );
}

function BacklogCard({ item }: { item: BacklogItem }) {
  // The card stays after a decision, showing where the intervention went.
  const [state, setState] = useState<State>('backlog');
  return (
    <li class="card" data-id={item.id}>
      <h2>
        <PageLink to={['backlog', item.id]}>{item.id}</PageLink> {item.title}
      </h2>
      <p class="meta">
        <StateBadge state={state} /> <RiskBadge risk={item.risk} /> target <strong>{item.target}</strong>,
        area <strong>{item.area}</strong>
      </p>
      {state === 'backlog' ? <WaitReason why={item.why} since={item.waitingSince} expiry={item} /> : null}
      <Actions id={item.id} state={state} onDone={(iv) => setState(iv.state)} askCredentials={false} />
    </li>
  );
}

/** Why it waits, since when, and (when known) when kaizen rejects it unless someone decides. */
export function WaitReason({
  why,
  since,
  expiry,
}: {
  why: string | null;
  since: number;
  expiry?: Pick<BacklogItem, 'expiresAt' | 'expired'> | undefined;
}) {
  return (
    <div class="waits">
      <p>
        <strong>Waits because:</strong> <span class="why-text">{why || 'no reason was recorded'}</span>
      </p>
      <p class="muted">
        Waiting since {formatTime(since)}.{' '}
        {expiry === undefined
          ? null
          : expiry.expired
            ? 'Its time is up: kaizen rejects it at its next backlog run.'
            : `Expires ${formatTime(expiry.expiresAt)} unless someone decides.`}
      </p>
    </div>
  );
}

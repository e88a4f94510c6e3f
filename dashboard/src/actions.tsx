import { useState } from 'preact/hooks';
import {
  REVERTIBLE,
  api,
  apiPath,
  type ApiError,
  type ActionResult,
  type Intervention,
  type State,
} from './api.js';
import { CredentialsForm, ErrorBox, PageLink, asApiError } from './components.js';
import { shortSha, stateLabel } from './format.js';
import { tokenRefused, useCredentials } from './session.js';

/*
 * What a person may do to one intervention: approve or reject it while it waits, revert it once
 * applied. Each is one POST with the bearer token; the answer (or the server's refusal, such as a
 * 401 naming what is wrong with the token) is shown where the button was.
 */

type Verb = 'approve' | 'reject' | 'revert';

interface Outcome {
  ok: boolean;
  text: string;
  id: string;
}

export function Actions({
  id,
  state,
  onDone,
  askCredentials = true,
}: {
  id: string;
  state: State;
  /** Called with the intervention as the action left it. */
  onDone(iv: Intervention): void;
  /** Show the name and token form here (a list shows one for all its items instead). */
  askCredentials?: boolean;
}) {
  const creds = useCredentials();
  const [why, setWhy] = useState('');
  const [busy, setBusy] = useState<Verb | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [outcome, setOutcome] = useState<Outcome | undefined>();

  const waiting = state === 'backlog';
  const revertible = REVERTIBLE.includes(state);

  async function act(verb: Verb): Promise<void> {
    setBusy(verb);
    setError(undefined);
    setOutcome(undefined);
    try {
      const body = verb === 'approve' ? { by: creds.name } : { by: creds.name, why };
      const result = await api<ActionResult>(apiPath('interventions', id, verb), body);
      const undone = ['failed', 'rolled_back'].includes(result.intervention.state);
      setOutcome({ ok: !undone, text: describe(verb, result), id });
      setWhy('');
      onDone(result.intervention);
    } catch (err) {
      const e = asApiError(err);
      setError(e);
      // The token was refused: the form asks for it again, and the server's reason stays here.
      if (e.status === 401) tokenRefused(false);
    } finally {
      setBusy(undefined);
    }
  }

  const messages = (
    <>
      {error ? <ErrorBox error={error} /> : null}
      {outcome ? (
        <p class={outcome.ok ? 'notice' : 'error'} role="status">
          {outcome.text} <PageLink to={['interventions', outcome.id]}>Open {outcome.id}</PageLink>
        </p>
      ) : null}
    </>
  );
  if (!waiting && !revertible) return messages;

  const ready = Boolean(creds.token && creds.name);
  const needsWhy = !why.trim();
  return (
    <section class="actions" aria-label="Decide">
      {messages}
      {askCredentials ? <CredentialsForm /> : null}
      {ready ? (
        <div class="buttons">
          {waiting ? (
            <button
              type="button"
              class="approve"
              disabled={busy !== undefined}
              onClick={() => void act('approve')}
            >
              {busy === 'approve' ? 'Approving… (guard, commit, deploy, probe)' : 'Approve'}
            </button>
          ) : null}
          <label class="why">
            Why{' '}
            <input
              name="why"
              placeholder={waiting ? 'why reject it (kept with it, read by the distiller)' : 'why revert it'}
              value={why}
              onInput={(e) => setWhy(e.currentTarget.value)}
            />
          </label>
          <button
            type="button"
            class="danger"
            disabled={busy !== undefined || needsWhy}
            title={needsWhy ? 'say why first' : undefined}
            onClick={() => void act(waiting ? 'reject' : 'revert')}
          >
            {waiting
              ? busy === 'reject'
                ? 'Rejecting…'
                : 'Reject'
              : busy === 'revert'
                ? 'Reverting…'
                : 'Revert'}
          </button>
        </div>
      ) : askCredentials ? null : (
        <p class="muted">Give your name and the token above to decide.</p>
      )}
    </section>
  );
}

/** The answer in one sentence: where the intervention is now, and why when it did not move on. */
function describe(verb: Verb, result: ActionResult): string {
  const iv: Intervention = result.intervention;
  const now = `${iv.id} is now ${stateLabel(iv.state)}`;
  if (verb === 'approve') {
    if (iv.state === 'applied') return `Approved: ${now}, commit ${shortSha(iv.commitSha)}.`;
    if (iv.state === 'backlog')
      return `Approved, but it still waits: ${(result.guard?.reasons ?? []).join('; ') || iv.waitingReason || 'the guard deferred it'}.`;
    return `Approved: ${now}${result.apply?.reason ? ` (${result.apply.reason})` : ''}.`;
  }
  if (verb === 'revert') return `Reverted: ${now}, revert commit ${shortSha(iv.revertSha)}.`;
  return `Rejected: ${now}.`;
}

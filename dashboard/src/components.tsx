import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';
import { stateLabel } from './format.js';
import { forgetToken, saveCredentials, tokenRefused, useCredentials } from './session.js';

/*
 * Pieces every page uses. Everything shown goes through JSX text or attributes, which Preact
 * escapes: titles, hypotheses and reasons are model-written and untrusted.
 */

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  reload(): void;
}

/** GET `path`, as `useLoad` says when. */
export function useApi<T>(path: string | undefined): Loaded<T> {
  return useLoad(path, () => api<T>(path!));
}

/**
 * Run `load` for `key` (again when the key or `reload` changes, and when the token does if reads
 * need it). Nothing runs while the key is undefined, or while reads need a token nobody has given
 * yet: the last answer (the server's 401 saying why) stays on screen until the form is filled in.
 */
export function useLoad<T>(key: string | undefined, load: () => Promise<T>): Loaded<T> {
  const { token, readsNeedToken } = useCredentials();
  const [state, setState] = useState<{ data?: T; error?: ApiError; key?: string }>({});
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (key === undefined || (readsNeedToken && !token)) return;
    let live = true;
    void load().then(
      (data) => live && setState({ data, key }),
      (err: unknown) => {
        if (!live) return;
        const error = asApiError(err);
        setState({ error, key });
        // After the error is kept: forgetting the token re-runs this effect, which ends this run.
        if (error.status === 401) tokenRefused(true);
      },
    );
    return () => {
      live = false;
    };
    // `load` is a new closure each render; the key says what it loads.
  }, [key, readsNeedToken ? token : undefined, readsNeedToken, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  // A new key shows nothing stale from the previous one.
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, reload };
}

export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'internal', String(err));
}

/** Data, or the error that kept it from loading, or a placeholder while it loads. */
export function Show<T>({
  loaded,
  children,
}: {
  loaded: Loaded<T>;
  children: (data: T) => ComponentChildren;
}) {
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  if (loaded.data === undefined) return <p class="muted">Loading…</p>;
  return <>{children(loaded.data)}</>;
}

export function ErrorBox({ error }: { error: ApiError }) {
  return (
    <p class="error" role="alert">
      {error.status ? <strong>{error.status} </strong> : null}
      {error.message}
    </p>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge state-${state}`}>{stateLabel(state)}</span>;
}

export function RiskBadge({ risk }: { risk: string }) {
  return <span class={`badge risk-${risk}`}>{risk} risk</span>;
}

/** A link to a dashboard page; `segments` are encoded, whatever they hold. */
export function PageLink({ to, children }: { to: string[]; children: ComponentChildren }) {
  return <a href={`/${to.map((s) => encodeURIComponent(s)).join('/')}`}>{children}</a>;
}

/**
 * Name and token, asked once per browser session before the first approve, reject or revert. The
 * token field is a password field and the form never submits anywhere: it only stores them.
 */
export function CredentialsForm() {
  const creds = useCredentials();
  const [name, setName] = useState(creds.name ?? '');
  const [token, setToken] = useState('');
  if (creds.token && creds.name) {
    return (
      <p class="muted">
        Acting as <strong>{creds.name}</strong> with the token from this session.{' '}
        <button type="button" class="link" onClick={forgetToken}>
          Forget the token
        </button>
      </p>
    );
  }
  return (
    <form
      class="credentials"
      onSubmit={(e) => {
        e.preventDefault();
        if (name.trim() && token.trim()) saveCredentials(token, name);
      }}
    >
      <p class="muted">
        Approving, rejecting and reverting need kaizen's bearer token (the value of its{' '}
        <code>server.tokenEnv</code> variable, <code>KAIZEN_TOKEN</code> by default). It is kept in this tab
        only.
      </p>
      <label>
        Your name{' '}
        <input
          name="name"
          autocomplete="username"
          required
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <label>
        Token{' '}
        <input
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
      </label>
      <button type="submit">Use</button>
    </form>
  );
}

/** A definition list row that shows `—` for nothing. */
export function Row({ label, children }: { label: string; children: ComponentChildren }) {
  const empty = children === null || children === undefined || children === '';
  return (
    <>
      <dt>{label}</dt>
      <dd>{empty ? '—' : children}</dd>
    </>
  );
}

import { useEffect, useState } from 'preact/hooks';

/*
 * Who is acting, and with which token. The token lives in sessionStorage: it is gone when the tab
 * closes, never in a URL (where history, logs and Referer headers would keep it) and never in
 * localStorage. The name is only a convenience and is kept across sessions.
 */

const TOKEN_KEY = 'kaizen.token';
const NAME_KEY = 'kaizen.name';
const READS_KEY = 'kaizen.readsNeedToken';

export interface Credentials {
  token: string | undefined;
  name: string | undefined;
  /**
   * The server refused a read without the token: it listens beyond loopback, where every call
   * needs it. On loopback reads go without it, so only a decision can be refused for a bad token.
   */
  readsNeedToken: boolean;
}

const listeners = new Set<() => void>();

export function credentials(): Credentials {
  return {
    token: sessionStorage.getItem(TOKEN_KEY) ?? undefined,
    name: localStorage.getItem(NAME_KEY) ?? undefined,
    readsNeedToken: sessionStorage.getItem(READS_KEY) === '1',
  };
}

export function saveCredentials(token: string, name: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  localStorage.setItem(NAME_KEY, name.trim());
  changed();
}

/** After a 401: the token was refused (or is missing), so ask for it again. */
export function tokenRefused(onRead: boolean): void {
  sessionStorage.removeItem(TOKEN_KEY);
  if (onRead) sessionStorage.setItem(READS_KEY, '1');
  changed();
}

export function forgetToken(): void {
  tokenRefused(false);
}

function changed(): void {
  for (const l of listeners) l();
}

/** The credentials, re-read whenever they change. */
export function useCredentials(): Credentials {
  const [value, setValue] = useState(credentials);
  useEffect(() => {
    const update = () => setValue(credentials());
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return value;
}

import os from 'node:os';
import { UsageError } from '../errors.js';

/** Who is acting: --by, else $KAIZEN_USER, else the login name. */
export function person(by: string | undefined): string {
  const name = by ?? process.env.KAIZEN_USER ?? safeUser();
  if (!name || name === 'kaizen' || name.length > 100) {
    throw new UsageError(
      `--by ${JSON.stringify(name)}: name the person acting (not "kaizen", at most 100 characters)`,
    );
  }
  return name;
}

function safeUser(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

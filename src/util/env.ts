/** Names of kaizen's own secrets: never handed to a child process kaizen starts. */
const SECRET_ENV = /^(ANTHROPIC_API_KEY|OPENAI_API_KEY|KAIZEN_TOKEN|KAIZEN_.*(TOKEN|KEY|SECRET).*)$/;

/** process.env without kaizen's secrets, plus `extra`. */
export function childEnv(
  extra: Record<string, string> = {},
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!SECRET_ENV.test(k)) env[k] = v;
  return { ...env, ...extra };
}

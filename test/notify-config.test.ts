import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { dashboardBase } from '../src/notify/notifier.js';
import { writeConfig } from './helpers/config.js';
import { tempDir } from './helpers/temp.js';

/** Lines joined into a file: the Nth argument is line N. */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

const HEAD = ['target:', '  name: shop', '  repo: .', 'notifications:'];

function loadError(text: string): string {
  const file = path.join(tempDir(), 'kaizen.yaml');
  writeFileSync(file, text);
  try {
    loadConfig(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.replace(file, '{file}');
  }
  throw new Error('expected the config to be refused');
}

describe('notifications config', () => {
  it('has defaults: 10 s per attempt, 5 attempts, a pass every 30 s of at most 2 minutes, an hourly drift scan', () => {
    const config = writeConfig({ notifications: { webhooks: [{ url: 'https://hooks.example.com/x' }] } });

    expect(config.notifications).toEqual({
      webhooks: [{ url: 'https://hooks.example.com/x', format: 'generic', timeoutMs: 10_000, attempts: 5 }],
      intervalMs: 30_000,
      driftScanMs: 3_600_000,
      deadlineMs: 120_000,
    });
    expect(dashboardBase(config)).toBe('http://127.0.0.1:7878');
  });

  it('takes a public dashboard URL for links, without a trailing slash', () => {
    const config = writeConfig({ notifications: { dashboardUrl: 'https://ops.example.com/kaizen/' } });

    expect(dashboardBase(config)).toBe('https://ops.example.com/kaizen');
  });

  it('has no dashboard link when the server is off and no dashboard URL is given', () => {
    const config = writeConfig({ server: { enabled: false } });

    expect(dashboardBase(config)).toBeUndefined();
  });

  it.each([
    {
      name: 'attempts below 1',
      lines: ['  webhooks:', '    - url: https://hooks.example.com/x', '      attempts: 0'],
      message: '{file}:7 notifications.webhooks[0].attempts: expected a number ≥ 1, got 0',
    },
    {
      name: 'a timeout that is not a duration',
      lines: ['  webhooks:', '    - url: https://hooks.example.com/x', '      timeout: soon'],
      message:
        '{file}:7 notifications.webhooks[0].timeout: expected a duration such as "30s", "5m", "2h" or "14d", got "soon"',
    },
    {
      name: 'a dashboard URL without a scheme',
      lines: ['  dashboardUrl: kaizen.internal:7878'],
      message:
        '{file}:5 notifications.dashboardUrl: expected an http:// or https:// URL, got "kaizen.internal:7878"',
    },
    {
      name: 'a drift scan interval that is not a duration',
      lines: ['  driftScan: hourly'],
      message:
        '{file}:5 notifications.driftScan: expected a duration such as "30s", "5m", "2h" or "14d", got "hourly"',
    },
    {
      name: 'a misspelt key',
      lines: ['  webhooks:', '    - url: https://hooks.example.com/x', '      retries: 3'],
      message:
        '{file}:7 notifications.webhooks[0].retries: unknown key: remove it or check its spelling against the config reference in README.md',
    },
  ])('refuses $name', ({ lines, message }) => {
    expect(loadError(yaml(...HEAD, ...lines))).toBe(message);
  });
});

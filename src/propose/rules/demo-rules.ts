import type { SelfHealRuleInput } from '../../config/schema.js';

/*
 * The self-heal rules `kaizen demo` writes into its scratch config (the `rules:` list of the demo
 * target), in config form: durations are strings, as in YAML. They fit examples/demo-target's knobs
 * (config.json) and the demo's signals (src/demo/demo-config.ts). The demo sets the cache rule's
 * `for` from its validation window (see demoSchedule), so that its baseline is a full window.
 */

/** No cache doubles latency: 200 entries make every warm request a hit. */
export const cacheRule = {
  name: 'latency_cache',
  when: { signal: 'latency_p50_ms', condition: 'above', value: 30, for: '5s' },
  propose: {
    title: 'Enable the response cache: {{signal}} at {{value}} ms for {{held}}',
    area: 'cache',
    kind: 'config_set',
    changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 }],
    hypothesis:
      'Every request misses the (empty) cache and pays the latency twice; {{signal}} has been above 30 ms for {{held}}. A cache of 200 entries holds every key, so warm requests skip the extra wait.',
    prediction: { signal: 'latency_p50_ms', direction: 'down', magnitude: 0.3, relative: true },
    risk: 'low',
    rollback: 'git revert',
  },
} satisfies SelfHealRuleInput;

/** A hung worker stops touching its lock; the demo's hang is the `worker.hang` knob. */
export const workerHangRule = {
  name: 'worker_hang',
  when: { signal: 'worker_lock_age_s', condition: 'above', value: 30, for: '1m' },
  propose: {
    title: 'Unstick the worker: its lock is {{value}} s old',
    area: 'worker',
    kind: 'config_set',
    changes: [{ kind: 'config_set', path: 'config.json', key: 'worker.hang', value: false }],
    hypothesis:
      'The worker has not touched run/worker.lock for {{held}} while the process stays up: it is hung (worker.hang is set). Turning the hang off lets it process jobs and refresh the lock again.',
    prediction: { signal: 'worker_lock_age_s', direction: 'down', magnitude: 0.9, relative: true },
    risk: 'low',
    rollback: 'git revert',
  },
} satisfies SelfHealRuleInput;

/**
 * DEMO ONLY: the demo target's errors are a simulated fault (`errorRate` in config.json), so setting
 * it to 0 "fixes" them. In a real system an error rate is a symptom, not a knob; do not copy this
 * rule into a real config.
 */
export const errorRateRule = {
  name: 'error_rate_fault',
  when: { signal: 'error_rate', condition: 'above', value: 0.05, for: '2m' },
  propose: {
    title: 'Turn off the simulated fault: {{signal}} at {{value}} for {{held}}',
    area: 'errors',
    kind: 'config_set',
    changes: [{ kind: 'config_set', path: 'config.json', key: 'errorRate', value: 0 }],
    hypothesis:
      "{{signal}} has stayed above 0.05 for {{held}}. The demo target's errors come from its simulated fault rate (errorRate), so setting it to 0 removes them (demo only).",
    prediction: { signal: 'error_rate', direction: 'down', magnitude: 0.8, relative: true },
    risk: 'low',
    rollback: 'git revert',
  },
} satisfies SelfHealRuleInput;

/** The demo's rules, in config form, for the demo target's `rules:` list. */
export const DEMO_RULES: readonly SelfHealRuleInput[] = [cacheRule, workerHangRule, errorRateRule];

/** What the daemon needs to run the HTTP server and feed its metrics. */
export { startServer, type RunningServer, type ServerOptions } from './server.js';
export { createMetrics, type KaizenMetrics, type MetricsOptions } from './metrics.js';
export { directActions, type ServerActions } from './actions.js';
export { healthSnapshot, type BreakerMap, type HealthSnapshot, type SchedulerView } from './snapshot.js';
export { HttpError, type ApiErrorCode } from './errors.js';

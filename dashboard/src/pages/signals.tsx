import { SignalChart, type Marker } from '../chart.js';
import {
  UNDONE,
  api,
  apiPath,
  type InterventionDetail,
  type InterventionSummary,
  type SignalDigest,
  type SignalSeries,
} from '../api.js';
import { PageLink, Show, useApi, useLoad } from '../components.js';
import { formatNumber, formatTime, stateLabel } from '../format.js';
import { InterventionTable } from './interventions.js';

/** Every signal of every target, as `kaizen status` shows them. */
export function SignalsPage() {
  const loaded = useApi<{ targets: { target: string; signals: SignalDigest[] }[] }>('/api/signals');
  return (
    <>
      <h1>Signals</h1>
      <Show loaded={loaded}>
        {({ targets }) => (
          <>
            {targets.map((t) => (
              <section key={t.target} aria-label={t.target}>
                <h2>{t.target}</h2>
                <table class="signals">
                  <thead>
                    <tr>
                      <th>signal</th>
                      <th>last</th>
                      <th>at</th>
                      <th>trend per hour</th>
                      <th>alert</th>
                      <th>errors in a row</th>
                    </tr>
                  </thead>
                  <tbody>
                    {t.signals.map((s) => (
                      <tr key={s.name} class={s.alert.state === 'alert' ? 'alerting' : undefined}>
                        <td>
                          <PageLink to={['signals', t.target, s.name]}>{s.name}</PageLink>
                        </td>
                        <td>{s.last ? `${formatNumber(s.last.value)} ${s.unit}` : '—'}</td>
                        <td class="nowrap">
                          {formatTime(s.last?.t)}
                          {s.stale ? ' (stale)' : ''}
                        </td>
                        <td>{s.trendPerHour === null ? '—' : formatNumber(s.trendPerHour)}</td>
                        <td>
                          {stateLabel(s.alert.state)}
                          {s.alert.threshold ? ` (${s.alert.threshold})` : ''}
                        </td>
                        <td>{s.errorStreak ? `${s.errorStreak}: ${s.lastError?.message ?? ''}` : '0'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            ))}
          </>
        )}
      </Show>
    </>
  );
}

/** The spans a chart can show; the API takes the same duration strings. */
const SPANS: Record<string, number> = {
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};
const DEFAULT_SPAN = '24h';

/** One signal's chart over `?since=` with the moments its interventions were applied and undone. */
export function SignalPage({ target, name }: { target: string; name: string }) {
  const asked = new URLSearchParams(location.search).get('since') ?? DEFAULT_SPAN;
  const since = asked in SPANS ? asked : DEFAULT_SPAN;
  const series = useApi<SignalSeries>(`${apiPath('signals', target, name)}?since=${since}`);
  const related = useLoad(`${target}/${name}`, () => markersOf(target, name));
  const here = `/signals/${encodeURIComponent(target)}/${encodeURIComponent(name)}`;
  return (
    <>
      <h1>
        {name} <span class="title">{target}</span>
      </h1>
      <nav class="filters" aria-label="Span">
        {Object.keys(SPANS).map((s) => (
          <a key={s} href={`${here}?since=${s}`} aria-current={s === since ? 'page' : undefined}>
            last {s}
          </a>
        ))}
      </nav>
      <Show loaded={series}>
        {(sr) => (
          <Show loaded={related}>
            {({ markers, interventions }) => {
              const errors = sr.points.filter((p) => p.error !== null).length;
              return (
                <>
                  <SignalChart series={sr} markers={markers} until={sr.since + SPANS[since]!} />
                  <p class="muted">
                    {sr.points.length - errors} values{errors ? `, ${errors} error samples` : ''} since{' '}
                    {formatTime(sr.since)}. <span class="key applied">applied</span>{' '}
                    <span class="key undone">undone</span>
                  </p>
                  <MarkerList markers={markers} />
                  <h2>Interventions predicting {name}</h2>
                  {interventions.length ? (
                    <InterventionTable rows={interventions} />
                  ) : (
                    <p class="muted">None yet.</p>
                  )}
                </>
              );
            }}
          </Show>
        )}
      </Show>
    </>
  );
}

function MarkerList({ markers }: { markers: Marker[] }) {
  if (markers.length === 0) return <p class="muted">No intervention on this signal was applied or undone.</p>;
  return (
    <ul class="markers plain">
      {[...markers]
        .sort((a, b) => a.t - b.t)
        .map((m) => (
          <li key={`${m.label}-${m.kind}`}>
            <span class={`swatch ${m.kind}`} aria-hidden="true" />
            {formatTime(m.t)} <PageLink to={['interventions', m.label]}>{m.label}</PageLink> {m.kind}
          </li>
        ))}
    </ul>
  );
}

/**
 * The interventions that predicted this signal, and the moments to mark: applied at `appliedAt`,
 * undone when it entered reverted or rolled_back (from its history). A rollback never reached
 * `applied`, so its commit is marked where it entered `applying`.
 */
async function markersOf(
  target: string,
  signal: string,
): Promise<{ markers: Marker[]; interventions: InterventionSummary[] }> {
  const q = new URLSearchParams({ target, signal, limit: '1000' });
  const { interventions } = await api<{ interventions: InterventionSummary[] }>(`/api/interventions?${q}`);
  const markers: Marker[] = [];
  const undone = interventions.filter((iv) => UNDONE.includes(iv.state));
  const details = await Promise.all(
    undone.map((iv) => api<InterventionDetail>(apiPath('interventions', iv.id))),
  );
  for (const iv of interventions) {
    if (iv.appliedAt !== null) markers.push({ t: iv.appliedAt, kind: 'applied', label: iv.id });
  }
  for (const d of details) {
    const iv = d.intervention;
    const last = (state: string) => d.history.findLast((h) => h.to === state)?.at;
    const applying = last('applying');
    if (iv.appliedAt === null && iv.commitSha !== null && applying !== undefined)
      markers.push({ t: applying, kind: 'applied', label: iv.id });
    const at = last(iv.state);
    if (at !== undefined) markers.push({ t: at, kind: 'undone', label: iv.id });
  }
  return { markers, interventions };
}

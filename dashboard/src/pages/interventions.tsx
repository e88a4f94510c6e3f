import { STATES, type InterventionSummary } from '../api.js';
import { PageLink, Show, StateBadge, useApi } from '../components.js';
import { formatTime, shortSha, stateLabel } from '../format.js';

const LIMIT = 200;

/** Every intervention, newest first, optionally in one state (`?state=`, kept in the URL). */
export function InterventionsPage() {
  const params = new URLSearchParams(location.search);
  const asked = params.get('state');
  const state = STATES.find((s) => s === asked);
  const loaded = useApi<{ interventions: InterventionSummary[] }>(
    `/api/interventions?limit=${LIMIT}${state ? `&state=${state}` : ''}`,
  );
  return (
    <>
      <h1>Interventions</h1>
      <nav class="filters" aria-label="Filter by state">
        <a href="/interventions" aria-current={state ? undefined : 'page'}>
          all
        </a>
        {STATES.map((s) => (
          <a key={s} href={`/interventions?state=${s}`} aria-current={s === state ? 'page' : undefined}>
            {stateLabel(s)}
          </a>
        ))}
      </nav>
      <Show loaded={loaded}>
        {({ interventions }) =>
          interventions.length === 0 ? (
            <p>None{state ? ` ${stateLabel(state)}` : ''}.</p>
          ) : (
            <InterventionTable rows={interventions} />
          )
        }
      </Show>
    </>
  );
}

export function InterventionTable({ rows }: { rows: InterventionSummary[] }) {
  return (
    <table class="interventions">
      <thead>
        <tr>
          <th>id</th>
          <th>state</th>
          <th>title</th>
          <th>target / area</th>
          <th>risk</th>
          <th>proposed</th>
          <th>applied</th>
          <th>commit</th>
          <th>verdict</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((iv) => (
          <tr key={iv.id} data-id={iv.id}>
            <td>
              <PageLink to={['interventions', iv.id]}>{iv.id}</PageLink>
            </td>
            <td>
              <StateBadge state={iv.state} />
            </td>
            <td>{iv.title}</td>
            <td>
              {iv.target} / {iv.area}
            </td>
            <td>{iv.risk}</td>
            <td class="nowrap">{formatTime(iv.createdAt)}</td>
            <td class="nowrap">{formatTime(iv.appliedAt)}</td>
            <td>
              <code>{shortSha(iv.commitSha)}</code>
            </td>
            <td>{iv.verdict ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

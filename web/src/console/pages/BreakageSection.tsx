import { useState } from 'react';
import type { BreakageReport, Currency } from '../../shared/api-types';
import { formatMoney } from '../../shared/money';
import { ErrorNote, Field } from '../components';
import { useGet } from '../use-api';

const thisMonth = () => new Date().toISOString().slice(0, 7);
const monthsBack = (count: number): string[] => {
  const now = new Date();
  return Array.from({ length: count }, (_, back) =>
    new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1)).toISOString().slice(0, 7),
  );
};
const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** GET /v1/reports/breakage, as the console shows it (docs/breakage.md). */
export function BreakageSection({ programId, currency }: { programId: string; currency: string }) {
  const [asOf, setAsOf] = useState(thisMonth());
  // The currency is one of the programs' (FinancePage), which the API only creates in currencies it takes.
  const query = { currency: currency as Currency, asOf, ...(programId ? { programId } : {}) };
  const report = useGet(JSON.stringify(query), (api, signal) =>
    api.GET('/v1/reports/breakage', { params: { query }, signal }),
  );
  const data = report.data;
  return (
    <section aria-labelledby="breakage-heading">
      <h2 id="breakage-heading">Breakage forecast by issue-month cohort</h2>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <Field id="breakage-as-of" label="As of (UTC month)">
          <select id="breakage-as-of" value={asOf} onChange={(e) => setAsOf(e.target.value)}>
            {monthsBack(24).map((month, index) => (
              <option key={month} value={month}>
                {index === 0 ? `${month} (month to date)` : month}
              </option>
            ))}
          </select>
        </Field>
      </form>
      <ErrorNote error={report.error} />
      {data && (
        <>
          <p>
            Outstanding liability{' '}
            <strong data-testid="breakage-liability">
              {formatMoney(data.totals.outstandingLiability, currency)}
            </strong>{' '}
            · expected breakage {formatMoney(data.totals.expectedBreakage, currency)} (
            {percent(data.totals.breakageRate)}) · recognised to date{' '}
            <strong data-testid="breakage-recognised">
              {formatMoney(data.totals.recognisedToDate, currency)}
            </strong>{' '}
            · still to recognise {formatMoney(data.totals.unrecognisedBreakage, currency)} · liability net of
            recognised breakage {formatMoney(data.totals.contractLiability, currency)}
          </p>
          <p>
            Chain-ladder over {data.cohorts.length} cohorts, {data.redemptionDevelopment.observedFactors}{' '}
            observed development months,{' '}
            {data.redemptionDevelopment.tailDecay === null
              ? 'no tail'
              : `tail decaying ${percent(data.redemptionDevelopment.tailDecay)} a month`}
            ; value unredeemed after {data.horizonMonths} months is breakage.
            {!data.estimable &&
              ' Fewer than 12 months of development so far: no breakage is estimated beyond what expired.'}
          </p>
          <CurvesChart report={data} />
          <CohortTable report={data} currency={currency} />
        </>
      )}
    </section>
  );
}

const WIDTH = 720;
const HEIGHT = 220;
const PAD = 8;
const SHOWN_COHORTS = 12;

function CurvesChart({ report }: { report: BreakageReport }) {
  const cohorts = report.cohorts.slice(-SHOWN_COHORTS);
  const x = (month: number) => PAD + (month * (WIDTH - 2 * PAD)) / (report.horizonMonths - 1);
  const y = (share: number) => HEIGHT - PAD - Math.min(1, Math.max(0, share)) * (HEIGHT - 2 * PAD);
  const line = (shares: number[]) => shares.map((s, k) => `${x(k).toFixed(1)},${y(s).toFixed(1)}`).join(' ');
  const pattern = report.redemptionDevelopment.cumulativePattern;
  return (
    <figure>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Share of loaded value redeemed by months since issue, ${cohorts.length} latest cohorts, observed then projected`}
        className="chart"
      >
        {cohorts.map((cohort) => (
          <g key={cohort.cohort}>
            <polyline
              points={line(cohort.projectedShare.slice(0, cohort.monthsObserved))}
              fill="none"
              stroke="#0b5cad"
              strokeWidth="1.5"
            />
            <polyline
              points={line(cohort.projectedShare)
                .split(' ')
                .slice(Math.max(0, cohort.monthsObserved - 1))
                .join(' ')}
              fill="none"
              stroke="#0b5cad"
              strokeWidth="1"
              strokeDasharray="4 3"
            />
          </g>
        ))}
        <polyline points={line(pattern)} fill="none" stroke="#b3261e" strokeWidth="2" />
      </svg>
      <figcaption>
        Blue: share of each cohort’s net loaded value redeemed after 1..{report.horizonMonths} months (solid
        observed, dashed projected) · red: share of ultimate redemptions reached by each month (development
        pattern)
      </figcaption>
    </figure>
  );
}

function CohortTable({ report, currency }: { report: BreakageReport; currency: string }) {
  const money = (minor: number) => formatMoney(minor, currency);
  return (
    <div className="scroll">
      <table data-testid="breakage-cohorts">
        <thead>
          <tr>
            <th scope="col">Cohort</th>
            <th scope="col">Months</th>
            <th scope="col">Net loaded</th>
            <th scope="col">Redeemed</th>
            <th scope="col">Expired</th>
            <th scope="col">Outstanding</th>
            <th scope="col">Expected breakage</th>
            <th scope="col">Rate</th>
            <th scope="col">Recognised</th>
          </tr>
        </thead>
        <tbody>
          {[...report.cohorts].reverse().map((cohort) => (
            <tr key={cohort.cohort}>
              <td>{cohort.cohort}</td>
              <td>{cohort.monthsObserved}</td>
              <td>{money(cohort.loaded - cohort.withdrawn)}</td>
              <td>{money(cohort.redeemed)}</td>
              <td>{money(cohort.expired)}</td>
              <td>{money(cohort.outstandingLiability)}</td>
              <td>{money(cohort.expectedBreakage)}</td>
              <td>{percent(cohort.breakageRate)}</td>
              <td>{money(cohort.recognisedToDate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

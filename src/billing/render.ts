/**
 * The cost report for people: a terminal report with a bar chart (`stratus cost`) and the
 * same as an HTML page (GET /_stratus/cost).
 */
import type { CostReport } from './report.js';
import { fmtCount, type WhatIf } from './what-if.js';

export function usd(n: number): string {
  // Below a cent: two significant digits ($0.0000072), not a row of zeros.
  if (n !== 0 && Math.abs(n) < 0.01) {
    const decimals = Math.min(20, 1 - Math.floor(Math.log10(Math.abs(n))));
    return `$${n.toFixed(decimals).replace(/0+$/, '')}`;
  }
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function qty(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n < 10 ? n.toFixed(4) : n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

const BAR = 30;

function bar(value: number, max: number): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * BAR * 8));
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  return '█'.repeat(full) + (part ? '▏▎▍▌▋▊▉'[part - 1] : '');
}

export function renderText(r: CostReport): string {
  const lines: string[] = [];
  lines.push(
    `What this workload would cost on AWS: account ${r.account}, ${r.from.slice(0, 16)}Z → ${r.to.slice(0, 16)}Z`,
  );
  lines.push(
    `Prices: AWS public price pages (read ${r.pricesTaken}), free tier: ${r.freeTier}`,
    '',
  );
  if (r.services.length === 0) lines.push('No usage recorded in this window.');
  const max = Math.max(0, ...r.services.map((s) => s.cost));
  const width = Math.max(8, ...r.services.map((s) => s.name.length));
  for (const s of r.services) {
    lines.push(`${s.name.padEnd(width)}  ${usd(s.cost).padStart(10)}  ${bar(s.cost, max)}`);
    for (const u of s.usage) {
      const free = u.free > 0 ? ` (${qty(u.free)} free)` : '';
      lines.push(`    ${u.usageType}: ${qty(u.quantity)} ${u.unit}${free}  ${usd(u.cost)}`);
    }
    const shown = s.resources.slice(0, 10);
    if (shown.length > 1 || (shown.length === 1 && shown[0].cost > 0)) {
      for (const res of shown) lines.push(`    · ${res.name}  ${usd(res.cost)}`);
      if (s.resources.length > shown.length)
        lines.push(`    · … ${s.resources.length - shown.length} more`);
    }
  }
  lines.push('', `${'Total'.padEnd(width)}  ${usd(r.total).padStart(10)}`);
  if (r.freeTierUsed.length) {
    lines.push('', 'Free tier this month:');
    for (const f of r.freeTierUsed) {
      const pct = f.allowance ? Math.min(100, (100 * f.used) / f.allowance) : 0;
      lines.push(`    ${f.description}: ${qty(f.used)} used (${pct.toFixed(1)}%)`);
    }
  }
  for (const n of r.notes) lines.push(`Note: ${n}`);
  if (r.whatIf) lines.push('', ...whatIfText(r.whatIf));
  return lines.join('\n') + '\n';
}

function whatIfText(w: WhatIf): string[] {
  const lines = ['What if: the recorded Lambda workload, a month of it, three ways'];
  if (w.empty) return [...lines, `    ${w.empty}`];
  const o = w.observed;
  lines.push(
    `    observed ${w.window.from.slice(0, 19)}Z → ${w.window.to.slice(0, 19)}Z: ${qty(o.requests)} requests, ` +
      `${o.requestsPerSecond.toFixed(3)}/s, ${o.meanBilledMs.toFixed(1)} ms billed on average, ` +
      `peak ${o.peakConcurrency} at once (${o.peakGb.toFixed(2)} GB)`,
    `    at that rate: ${fmtCount(w.monthlyRequests)} requests a month`,
  );
  const max = Math.max(...w.options.map((x) => x.monthly));
  for (const x of w.options) {
    const mark = x.kind === w.cheapest ? '  ← cheapest' : '';
    lines.push(
      `    ${x.kind.padEnd(9)} ${usd(x.monthly).padStart(10)}/month  ${bar(x.monthly, max)}  ${x.what}${mark}`,
    );
  }
  if (w.breakEven) {
    lines.push(
      `    break-even: ${fmtCount(w.breakEven.requestsPerMonth)} requests a month ` +
        `(${w.breakEven.requestsPerSecond.toFixed(2)}/s) against ${w.breakEven.server}: ` +
        (w.monthlyRequests < w.breakEven.requestsPerMonth
          ? 'below it Lambda is cheaper'
          : 'above it the always-on server is cheaper'),
    );
  }
  return lines;
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function renderHtml(r: CostReport): string {
  const max = Math.max(0, ...r.services.map((s) => s.cost));
  const pct = (v: number, m: number) => (m > 0 ? Math.max(0.5, (100 * v) / m) : 0);
  const rows = r.services
    .map(
      (s) => `<tr><th>${esc(s.name)}</th><td class="n">${usd(s.cost)}</td>
<td><div class="bar" style="width:${pct(s.cost, max)}%"></div></td></tr>
${s.usage
  .map(
    (u) =>
      `<tr class="sub"><td>${esc(u.usageType)}</td><td class="n">${usd(u.cost)}</td><td>${qty(u.quantity)} ${esc(u.unit)}${u.free ? ` (${qty(u.free)} free)` : ''}</td></tr>`,
  )
  .join('\n')}
${s.resources
  .slice(0, 10)
  .map(
    (x) =>
      `<tr class="sub"><td>· ${esc(x.name)}</td><td class="n">${usd(x.cost)}</td><td></td></tr>`,
  )
  .join('\n')}`,
    )
    .join('\n');
  const free = r.freeTierUsed
    .map((f) => `<li>${esc(f.description)}: ${qty(f.used)} used</li>`)
    .join('');
  const w = r.whatIf;
  const wmax = w ? Math.max(0, ...w.options.map((o) => o.monthly)) : 0;
  const whatIf = !w
    ? ''
    : w.empty
      ? `<h2>What if</h2><p>${esc(w.empty)}</p>`
      : `<h2>What if: a month of this Lambda workload, three ways</h2>
<p>${qty(w.observed.requests)} requests observed (${w.observed.requestsPerSecond.toFixed(3)}/s), peak ${w.observed.peakConcurrency} at once: ${fmtCount(w.monthlyRequests)} requests a month.</p>
<table>${w.options
          .map(
            (o) =>
              `<tr${o.kind === w.cheapest ? ' class="best"' : ''}><th>${o.kind}</th><td class="n">${usd(o.monthly)}/month</td><td><div class="bar" style="width:${pct(o.monthly, wmax)}%"></div></td><td>${esc(o.what)}</td></tr>`,
          )
          .join('\n')}</table>
${w.breakEven ? `<p>Break-even: ${fmtCount(w.breakEven.requestsPerMonth)} requests a month (${w.breakEven.requestsPerSecond.toFixed(2)}/s) against ${esc(w.breakEven.server)}.</p>` : ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stratus: what this would cost on AWS</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:60em}
table{border-collapse:collapse;width:100%}td,th{padding:.2em .6em;text-align:left;vertical-align:middle}
.n{text-align:right;white-space:nowrap}.sub td{color:#555;font-size:90%}
.bar{background:#2f6fdf;height:.9em;border-radius:2px}.best th,.best td{font-weight:bold}
</style></head><body>
<h1>What this workload would cost on AWS</h1>
<p>Account ${esc(r.account)}, ${esc(r.from)} → ${esc(r.to)}. Prices read ${esc(r.pricesTaken)} from AWS's public price pages; free tier: ${esc(r.freeTier)}.</p>
<table>${rows}
<tr><th>Total</th><td class="n"><strong>${usd(r.total)}</strong></td><td></td></tr></table>
${free ? `<h2>Free tier this month</h2><ul>${free}</ul>` : ''}
${r.notes.map((n) => `<p>Note: ${esc(n)}</p>`).join('')}
${whatIf}
</body></html>
`;
}

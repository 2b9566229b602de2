import type { PostureData } from './posture.js';

const esc = (s: string | number) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (x: number | null) => (x === null ? '—' : `${x.toFixed(1)}%`);
const STATUS_LABEL = { pass: 'pass', fail: 'fail', manual: 'manual', 'not-run': 'not run', met: 'met', 'not-met': 'not met', needs: 'needs state' } as const;

function badge(status: keyof typeof STATUS_LABEL): string {
  return `<span class="badge ${status}">${STATUS_LABEL[status]}</span>`;
}

function unavailable(reason: string | undefined): string {
  return `<p class="unavailable">Not available: ${esc(reason ?? 'no state')}</p>`;
}

/**
 * The posture page: one self-contained HTML file. Tables are rendered here so the numbers read
 * without JavaScript; charts are drawn by Chart.js, inlined from `chartJs` so the page works offline.
 */
export function renderPostureHtml(data: PostureData, chartJs: string): string {
  const d = data;
  const indicatorRows = d.indicators
    .map(
      (i) => `<tr data-indicator="${esc(i.id)}"><td>${esc(i.title)}<div class="zh">${esc(i.titleZh)}</div></td><td>${esc(i.kind)}</td><td class="num target">${esc(i.target)}</td><td class="num actual">${esc(i.actualText)}</td><td>${badge(i.status)}</td><td class="note">${esc(i.note)}</td></tr>`,
    )
    .join('\n');
  const controlRows = d.controls
    .map(
      (c) => `<tr data-control="${esc(c.id)}"><td class="mono">${esc(c.id)}</td><td>${esc(c.title)}</td><td class="clause">${esc(c.clause)}</td><td>${c.binding ? 'binding' : 'advisory'}</td><td>${esc(c.severity)}</td><td>${badge(c.status)}</td><td class="note">${esc(c.summary)}<div class="provenance">evidence: ${esc(c.provenance.join(', '))}</div></td></tr>`,
    )
    .join('\n');
  const provinceRows = d.byProvince
    .map((p) => `<tr data-province="${esc(p.province)}"><td class="mono">${esc(p.province)}</td><td>${esc(p.name)}</td><td class="num">${p.counts.pass}</td><td class="num">${p.counts.fail}</td><td class="num">${p.counts['not-run']}</td><td class="note">${esc(p.failing.slice(0, 4).join(', '))}${p.failing.length > 4 ? ` … +${p.failing.length - 4}` : ''}</td></tr>`)
    .join('\n');
  const certs = d.certificates;
  const drills = d.drills;
  const wanIndicators = d.indicators.filter((i) => d.wan.indicators.includes(i.id));
  const summary = d.controls.reduce((acc, c) => ((acc[c.status] += 1), acc), { pass: 0, fail: 0, manual: 0, 'not-run': 0 });
  const json = JSON.stringify(d).replace(/</g, '\\u003c');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>jinbao posture report — ${esc(d.inventory.name)}</title>
<style>
:root { --pass: #1a7f37; --fail: #cf222e; --manual: #9a6700; --notrun: #6e7781; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif; color: var(--ink); margin: 0; background: #f6f8fa; }
header { background: #0b3d91; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .meta { opacity: .85; }
main { padding: 16px 32px 48px; max-width: 1400px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
h2 { font-size: 17px; margin: 0 0 12px; }
.sample { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; margin: 12px 0 0; color: #4d2d00; }
.verdict { font-size: 16px; font-weight: 600; }
.verdict.ok { color: var(--pass); } .verdict.bad { color: var(--fail); }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; margin-top: 8px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.tile b { display: block; font-size: 22px; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .02em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.note { color: var(--muted); font-size: 12.5px; }
td.clause { font-size: 12.5px; min-width: 150px; }
#compliance td:nth-child(2) { min-width: 280px; }
#compliance td.note { min-width: 260px; }
.mono { font-family: ui-monospace, monospace; font-size: 12.5px; white-space: nowrap; }
.zh { color: var(--muted); font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; white-space: nowrap; }
.badge.pass, .badge.met { background: var(--pass); } .badge.fail, .badge[class~="not-met"] { background: var(--fail); }
.badge.manual { background: var(--manual); } .badge[class~="not-run"], .badge.needs { background: var(--notrun); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.chart { position: relative; height: 340px; }
.unavailable { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; padding: 0 32px 24px; }
</style>
</head>
<body>
<header>
  <h1>Golden Security (金保) fabric — posture report</h1>
  <div class="meta">inventory <b>${esc(d.inventory.name)}</b> · ${d.inventory.sites} sites · generated ${esc(d.generatedAt)}</div>
</header>
<main>
${d.inventory.sampleData ? '<p class="sample"><b>SAMPLE DATA.</b> The inventory holds generated figures; only site names and GB/T 2260 codes are real. The results describe the sample, not the real fabric.</p>' : ''}
<section id="summary">
  <h2>Verdict</h2>
  <div class="verdict ${d.compliant ? 'ok' : 'bad'}" id="verdict">${d.compliant ? 'Compliant: every binding control passes.' : 'Not compliant: at least one binding control fails or could not run.'}</div>
  <div class="tiles">
    <div class="tile">controls<b id="count-controls">${d.controls.length}</b></div>
    <div class="tile">pass<b id="count-pass" style="color:var(--pass)">${summary.pass}</b></div>
    <div class="tile">fail<b id="count-fail" style="color:var(--fail)">${summary.fail}</b></div>
    <div class="tile">manual<b id="count-manual" style="color:var(--manual)">${summary.manual}</b></div>
    <div class="tile">not run<b id="count-not-run" style="color:var(--notrun)">${summary['not-run']}</b></div>
  </div>
</section>

<section id="indicators">
  <h2>The plan's indicators (专栏2): target vs actual</h2>
  <div class="chart"><canvas id="chart-indicators" aria-label="indicators, actual against target"></canvas></div>
  <table><thead><tr><th>indicator</th><th>kind</th><th>target</th><th>actual</th><th>status</th><th></th></tr></thead>
  <tbody>
${indicatorRows}
  </tbody></table>
</section>

<section id="compliance">
  <h2>Compliance by control (MLPS 2.0 level 3, GB/T 22239-2019; GB/T 39786-2021; the plan)</h2>
  <table><thead><tr><th>control</th><th>title</th><th>clause</th><th>kind</th><th>severity</th><th>status</th><th>first finding</th></tr></thead>
  <tbody>
${controlRows}
  </tbody></table>
</section>

<section id="by-site">
  <h2>Compliance by site (site-scoped findings, grouped by province)</h2>
  <div class="chart"><canvas id="chart-provinces" aria-label="findings per province"></canvas></div>
  <table><thead><tr><th>province</th><th>name</th><th>pass</th><th>fail</th><th>not run</th><th>failing (control site)</th></tr></thead>
  <tbody>
${provinceRows}
  </tbody></table>
</section>

<div class="charts">
<section id="certificates">
  <h2>Certificates</h2>
  ${
    certs.available
      ? `<div class="chart"><canvas id="chart-certificates" aria-label="certificates by profile"></canvas></div>
  <table><thead><tr><th>CA</th><th>algorithm</th><th>parent</th><th>not after</th><th>status</th></tr></thead><tbody>
  ${certs.authorities.map((a) => `<tr><td class="mono">${esc(a.id)}</td><td>${esc(a.algorithm)}</td><td class="mono">${esc(a.parent ?? 'root')}</td><td>${esc(a.notAfter.slice(0, 10))}</td><td>${esc(a.status)}</td></tr>`).join('\n')}
  </tbody></table>
  <p>Active certificates expiring within 30 days: <b id="certs-expiring">${certs.expiryDays.filter((x) => x <= 30).length}</b></p>`
      : unavailable(certs.reason)
  }
</section>

<section id="drills">
  <h2>DR drills: measured RTO against objectives, data lost (RPO)</h2>
  ${
    drills.available && drills.runs.length > 0
      ? `<div class="chart"><canvas id="chart-drills" aria-label="drill RTO over time"></canvas></div>
  <table><thead><tr><th>run</th><th>site</th><th>finished</th><th>result</th><th>RTO / objective</th><th>RPO / objective</th><th>rows lost</th></tr></thead><tbody>
  ${drills.runs.slice(-12).map((r) => `<tr><td class="mono">${esc(r.id)}</td><td class="mono">${esc(r.site)}</td><td>${esc(r.finishedAt.slice(0, 16).replace('T', ' '))}</td><td>${badge(r.passed ? 'pass' : 'fail')}</td><td class="num">${r.rtoSeconds ?? '—'} s / ${r.rtoObjective} s</td><td class="num">${r.rpoSeconds ?? '—'} s / ${r.rpoObjective} s</td><td class="num">${r.rpoRows ?? '—'}</td></tr>`).join('\n')}
  </tbody></table>`
      : unavailable(drills.available ? 'no drill has run yet (jinbao drill run)' : drills.reason)
  }
</section>
</div>

<section id="wan">
  <h2>WAN coverage</h2>
  <div class="chart" style="height:220px"><canvas id="chart-wan" aria-label="network coverage indicators"></canvas></div>
  ${d.wan.available ? `<p>Overlay plan: <b>${d.wan.links}</b> links, <b>${d.wan.uplinks}</b> uplinks; provinces with two uplinks: <b id="wan-two-uplinks">${d.wan.provincesWithTwoUplinks}</b> of ${d.wan.provinces}.</p>` : unavailable(d.wan.reason)}
  <table><thead><tr><th>indicator</th><th>target</th><th>actual</th><th>status</th></tr></thead><tbody>
  ${wanIndicators.map((i) => `<tr><td>${esc(i.title)}</td><td class="num">${esc(i.target)}</td><td class="num">${pct(i.actual)}</td><td>${badge(i.status)}</td></tr>`).join('\n')}
  </tbody></table>
</section>
</main>
<footer>Generated by jinbao. Evidence for every finding: <code>jinbao comply --format json</code>. Charts: Chart.js (MIT), bundled.</footer>
<script id="posture-data" type="application/json">${json}</script>
<script>${chartJs}</script>
<script>
(function () {
  var d = JSON.parse(document.getElementById('posture-data').textContent);
  var C = { pass: '#1a7f37', fail: '#cf222e', manual: '#9a6700', notrun: '#8c959f', target: '#0b3d91' };
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  function bars(id, labels, datasets, opts) {
    var el = document.getElementById(id);
    if (!el) return;
    new Chart(el, { type: 'bar', data: { labels: labels, datasets: datasets }, options: opts || {} });
  }
  var ind = d.indicators;
  bars('chart-indicators', ind.map(function (i) { return i.id; }), [
    { label: 'actual %', data: ind.map(function (i) { return i.actual; }), backgroundColor: ind.map(function (i) { return i.status === 'met' ? C.pass : i.status === 'not-met' ? C.fail : C.notrun; }) },
    { label: 'target %', data: ind.map(function (i) { return i.targetPercent; }), type: 'line', showLine: false, pointStyle: 'line', pointRadius: 14, pointBorderWidth: 3, borderColor: C.target, backgroundColor: C.target }
  ], { scales: { y: { min: 0, max: 100, title: { display: true, text: 'percent' } } } });
  var pv = d.byProvince;
  bars('chart-provinces', pv.map(function (p) { return p.name; }), [
    { label: 'pass', data: pv.map(function (p) { return p.counts.pass; }), backgroundColor: C.pass },
    { label: 'fail', data: pv.map(function (p) { return p.counts.fail; }), backgroundColor: C.fail },
    { label: 'not run', data: pv.map(function (p) { return p.counts['not-run']; }), backgroundColor: C.notrun }
  ], { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'findings' } } } });
  if (d.certificates.available) {
    var pr = d.certificates.byProfile;
    bars('chart-certificates', pr.map(function (p) { return p.profile; }), [
      { label: 'active', data: pr.map(function (p) { return p.active; }), backgroundColor: C.pass },
      { label: 'revoked', data: pr.map(function (p) { return p.revoked; }), backgroundColor: C.fail },
      { label: 'other', data: pr.map(function (p) { return p.other; }), backgroundColor: C.notrun }
    ], { scales: { x: { stacked: true }, y: { stacked: true } } });
  }
  if (d.drills.available && d.drills.runs.length > 0) {
    var runs = d.drills.runs;
    var el = document.getElementById('chart-drills');
    new Chart(el, { type: 'line', data: { labels: runs.map(function (r) { return r.finishedAt.slice(0, 10) + ' ' + r.site; }), datasets: [
      { label: 'RTO s', data: runs.map(function (r) { return r.rtoSeconds; }), borderColor: C.target, backgroundColor: C.target },
      { label: 'RTO objective s', data: runs.map(function (r) { return r.rtoObjective; }), borderColor: C.fail, borderDash: [6, 4], pointRadius: 0 },
      { label: 'rows lost (RPO)', data: runs.map(function (r) { return r.rpoRows !== null ? r.rpoRows : r.rpoSeconds; }), borderColor: C.manual, backgroundColor: C.manual, yAxisID: 'rows' }
    ] }, options: { scales: { y: { title: { display: true, text: 'seconds' }, min: 0 }, rows: { position: 'right', min: 0, title: { display: true, text: 'rows lost' }, grid: { drawOnChartArea: false } } } } });
  }
  var wan = ind.filter(function (i) { return d.wan.indicators.indexOf(i.id) >= 0; });
  bars('chart-wan', wan.map(function (i) { return i.title; }), [
    { label: 'actual %', data: wan.map(function (i) { return i.actual; }), backgroundColor: wan.map(function (i) { return i.status === 'met' ? C.pass : C.fail; }) },
    { label: 'target %', data: wan.map(function (i) { return i.targetPercent; }), backgroundColor: 'rgba(11,61,145,.25)' }
  ], { indexAxis: 'y', scales: { x: { min: 80, max: 100 } } });
  document.body.setAttribute('data-rendered', 'true');
})();
</script>
</body>
</html>
`;
}

import { formatDate, formatDateTime, formatNumber, translator, type CatalogueRef, type Lang, type Translate } from '../../lib/i18n/index.js';
import { needsIn, sayIn, type Said } from '../message.js';
import { EMBEDDED_FAMILY, FONT_STACK } from './font.js';
import type { PostureData } from './posture.js';

/** The report's message catalogue (compliance/report/locales). */
export const REPORT_MESSAGES: CatalogueRef = { ns: 'report', dir: 'compliance/report/locales' };

const esc = (s: string | number) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (x: number | null) => (x === null ? '—' : `${x.toFixed(1)}%`);
/** The words of the printed page header (inventory, title, date) and footer (page N of M). */
export function pdfHeaderText(lang: Lang, inventory: string, generatedAt: string): { header: string; footer: string } {
  const t = translator(lang, REPORT_MESSAGES);
  return { header: esc(t('pdf.header', { name: inventory, date: formatDate(generatedAt, lang) })), footer: t('pdf.page') };
}

type BadgeStatus = 'pass' | 'fail' | 'manual' | 'not-run' | 'met' | 'not-met' | 'needs';

export interface PostureHtmlOptions {
  /** Language of every heading, label, axis and legend. @default 'en' */
  readonly lang?: Lang;
  /** `@font-face` rules of the embedded Chinese font (see font.ts). @default '' */
  readonly fontCss?: string;
}

/** What a chart shows in its axes and legends, in the page's language (read by the page's script). */
function chartLabels(t: Translate): Record<string, string> {
  const keys = ['actual', 'target', 'percent', 'findings', 'active', 'revoked', 'other', 'rto', 'rtoObjective', 'rowsLost', 'seconds', 'rows'] as const;
  const labels: Record<string, string> = Object.fromEntries(keys.map((k) => [k, t(`chart.${k}`)]));
  for (const s of ['pass', 'fail', 'not-run'] as const) labels[s] = t(`status.${s}`);
  return labels;
}

/**
 * The posture page: one self-contained HTML file. Tables are rendered here so the numbers read
 * without JavaScript; charts are drawn by Chart.js, inlined from `chartJs` so the page works offline.
 * Data (the JSON block) is the same in every language; only the words around it change.
 */
export function renderPostureHtml(data: PostureData, chartJs: string, opts: PostureHtmlOptions = {}): string {
  const d = data;
  const lang = opts.lang ?? 'en';
  const zh = lang === 'zh-CN';
  const t = translator(lang, REPORT_MESSAGES);
  const num = (n: number) => formatNumber(n, lang);
  const badge = (status: BadgeStatus) => `<span class="badge ${status}">${esc(t(`status.${status}`))}</span>`;
  // posture.json keeps reasons as English text beside their catalogue message; the page says the message in its language
  const reasonText = (part: { readonly reason?: string; readonly reasonMessage?: Said }) => (zh && part.reasonMessage ? sayIn(lang, part.reasonMessage) : part.reason);
  const unavailable = (reason: string | undefined) => `<p class="unavailable">${esc(t('unavailable', { reason: reason ?? t('noState') }))}</p>`;
  const summaryText = (c: PostureData['controls'][number]) =>
    zh && c.summaryMessage ? `${c.summaryMessage.site ? `${c.summaryMessage.site}: ` : ''}${sayIn(lang, c.summaryMessage.message)}` : c.summary;
  const indicatorTitle = new Map(d.indicators.map((i) => [i.id, zh ? i.titleZh : i.title]));
  const note = (i: PostureData['indicators'][number]) =>
    i.needs !== null ? t('note.needs', { what: needsIn(lang, i.needs) }) : i.numerator !== null && i.denominator !== null ? t('note.ratio', { numerator: num(i.numerator), denominator: num(i.denominator) }) : i.denominator !== null ? t('note.mean', { denominator: num(i.denominator) }) : '';
  const controlTitle = (c: PostureData['controls'][number]) => {
    if (!zh) return esc(c.title);
    const plan = /^PLAN-(.+)$/.exec(c.id);
    return esc(plan ? (indicatorTitle.get(plan[1]!) ?? c.title) : t(`control.${c.id}`, { defaultValue: c.title }));
  };
  const clause = (c: PostureData['controls'][number]) => {
    const plan = /^PLAN-(.+)$/.exec(c.id);
    if (plan) return esc(zh ? t('compliance.plan', { indicator: indicatorTitle.get(plan[1]!) ?? plan[1] }) : c.clause);
    return zh ? `${esc(c.clause)}<div class="zh">${esc(c.clauseText)}</div>` : esc(c.clause);
  };

  const indicatorRows = d.indicators
    .map(
      (i) =>
        `<tr data-indicator="${esc(i.id)}"><td>${zh ? esc(i.titleZh) : `${esc(i.title)}<div class="zh">${esc(i.titleZh)}</div>`}</td><td>${esc(t(`kind.${i.kind}`))}</td><td class="num target">${esc(i.target)}</td><td class="num actual">${esc(i.actualText)}</td><td>${badge(i.status)}</td><td class="note">${esc(note(i))}</td></tr>`,
    )
    .join('\n');
  const controlRows = d.controls
    .map(
      (c) =>
        `<tr data-control="${esc(c.id)}"><td class="mono">${esc(c.id)}</td><td>${controlTitle(c)}</td><td class="clause">${clause(c)}</td><td>${esc(t(c.binding ? 'kind.binding' : 'kind.advisory'))}</td><td>${esc(t(`severity.${c.severity}`))}</td><td>${badge(c.status)}</td><td class="note">${esc(summaryText(c))}<div class="provenance">${esc(t('compliance.provenance', { kinds: c.provenance.join(', ') }))}</div></td></tr>`,
    )
    .join('\n');
  const provinceRows = d.byProvince
    .map((p) => `<tr data-province="${esc(p.province)}"><td class="mono">${esc(p.province)}</td><td>${esc(p.name)}</td><td class="num">${num(p.counts.pass)}</td><td class="num">${num(p.counts.fail)}</td><td class="num">${num(p.counts['not-run'])}</td><td class="note">${esc(p.failing.slice(0, 4).join(', '))}${p.failing.length > 4 ? ` … +${p.failing.length - 4}` : ''}</td></tr>`)
    .join('\n');
  const staff = d.staffByProvince;
  const staffSource = (p: PostureData['staffByProvince']['provinces'][number]) =>
    [...(p.rosterSites ? [t('staffByProvince.fromRoster', { sites: num(p.rosterSites) })] : []), ...(p.inventorySites ? [t(p.sample ? 'staffByProvince.fromSample' : 'staffByProvince.fromInventory', { sites: num(p.inventorySites) })] : [])].join(t('staffByProvince.separator'));
  const staffRows = staff.provinces
    .map((p) => `<tr data-staff-province="${esc(p.province)}"><td class="mono">${esc(p.province)}</td><td>${esc(p.name)}</td><td class="num">${num(p.staff)}</td><td class="num">${num(p.holders)}</td><td class="num">${pct(p.actual)}</td><td>${badge(p.status)}</td><td class="note">${esc(staffSource(p))}</td></tr>`)
    .join('\n');
  const certs = d.certificates;
  const drills = d.drills;
  const wanIndicators = d.indicators.filter((i) => d.wan.indicators.includes(i.id));
  const summary = d.controls.reduce((acc, c) => ((acc[c.status] += 1), acc), { pass: 0, fail: 0, manual: 0, 'not-run': 0 });
  const script = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
  const page = {
    lang,
    labels: chartLabels(t),
    indicatorLabels: d.indicators.map((i) => (zh ? i.titleZh : i.id)),
    wanLabels: wanIndicators.map((i) => indicatorTitle.get(i.id)!),
    drillLabels: drills.runs.map((r) => `${formatDate(r.finishedAt, lang)} ${r.siteName}`),
    fontStack: FONT_STACK,
  };

  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(t('docTitle', { name: d.inventory.name }))}</title>
<style>
${opts.fontCss ?? ''}
:root { --pass: #1a7f37; --fail: #cf222e; --manual: #9a6700; --notrun: #6e7781; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { font: 14px/1.5 ${FONT_STACK}; color: var(--ink); margin: 0; background: #f6f8fa; }
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
@media print {
  body { background: #fff; }
  header { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section { break-inside: avoid; }
  #compliance, #by-site { break-inside: auto; }
  tr { break-inside: avoid; }
  .charts { grid-template-columns: 1fr; }
  main { max-width: none; }
}
</style>
</head>
<body>
<header>
  <h1 id="title">${esc(t('title'))}</h1>
  <div class="meta">${t('meta', { name: esc(d.inventory.name), sites: num(d.inventory.sites), at: esc(formatDateTime(d.generatedAt, lang)) })}</div>
</header>
<main>
${d.inventory.sampleData ? `<p class="sample">${t('sample')}</p>` : ''}
<section id="summary">
  <h2>${esc(t('verdict.heading'))}</h2>
  <div class="verdict ${d.compliant ? 'ok' : 'bad'}" id="verdict">${esc(t(d.compliant ? 'verdict.ok' : 'verdict.bad'))}</div>
  <div class="tiles">
    <div class="tile">${esc(t('tile.controls'))}<b id="count-controls">${num(d.controls.length)}</b></div>
    <div class="tile">${esc(t('status.pass'))}<b id="count-pass" style="color:var(--pass)">${num(summary.pass)}</b></div>
    <div class="tile">${esc(t('status.fail'))}<b id="count-fail" style="color:var(--fail)">${num(summary.fail)}</b></div>
    <div class="tile">${esc(t('status.manual'))}<b id="count-manual" style="color:var(--manual)">${num(summary.manual)}</b></div>
    <div class="tile">${esc(t('status.not-run'))}<b id="count-not-run" style="color:var(--notrun)">${num(summary['not-run'])}</b></div>
  </div>
</section>

<section id="indicators">
  <h2>${esc(t('indicators.heading'))}</h2>
  <div class="chart"><canvas id="chart-indicators" aria-label="${esc(t('indicators.chart'))}"></canvas></div>
  <table><thead><tr><th>${esc(t('indicators.indicator'))}</th><th>${esc(t('indicators.kind'))}</th><th>${esc(t('indicators.target'))}</th><th>${esc(t('indicators.actual'))}</th><th>${esc(t('indicators.status'))}</th><th></th></tr></thead>
  <tbody>
${indicatorRows}
  </tbody></table>
</section>

<section id="staff-by-province">
  <h2>${esc(t('staffByProvince.heading', { target: staff.target }))}</h2>
  ${
    staff.available
      ? `<table><thead><tr><th>${esc(t('staffByProvince.province'))}</th><th>${esc(t('staffByProvince.name'))}</th><th>${esc(t('staffByProvince.staff'))}</th><th>${esc(t('staffByProvince.holders'))}</th><th>${esc(t('indicators.actual'))}</th><th>${esc(t('indicators.status'))}</th><th>${esc(t('staffByProvince.source'))}</th></tr></thead>
  <tbody>
${staffRows}
  </tbody></table>`
      : unavailable(t('staffByProvince.none'))
  }
</section>

<section id="compliance">
  <h2>${esc(t('compliance.heading'))}</h2>
  <table><thead><tr><th>${esc(t('compliance.control'))}</th><th>${esc(t('compliance.title'))}</th><th>${esc(t('compliance.clause'))}</th><th>${esc(t('compliance.kind'))}</th><th>${esc(t('compliance.severity'))}</th><th>${esc(t('compliance.status'))}</th><th>${esc(t('compliance.finding'))}</th></tr></thead>
  <tbody>
${controlRows}
  </tbody></table>
</section>

<section id="by-site">
  <h2>${esc(t('bySite.heading'))}</h2>
  <div class="chart"><canvas id="chart-provinces" aria-label="${esc(t('bySite.chart'))}"></canvas></div>
  <table><thead><tr><th>${esc(t('bySite.province'))}</th><th>${esc(t('bySite.name'))}</th><th>${esc(t('status.pass'))}</th><th>${esc(t('status.fail'))}</th><th>${esc(t('status.not-run'))}</th><th>${esc(t('bySite.failing'))}</th></tr></thead>
  <tbody>
${provinceRows}
  </tbody></table>
</section>

<div class="charts">
<section id="certificates">
  <h2>${esc(t('certs.heading'))}</h2>
  ${
    certs.available
      ? `<div class="chart"><canvas id="chart-certificates" aria-label="${esc(t('certs.chart'))}"></canvas></div>
  <table><thead><tr><th>${esc(t('certs.ca'))}</th><th>${esc(t('certs.algorithm'))}</th><th>${esc(t('certs.parent'))}</th><th>${esc(t('certs.notAfter'))}</th><th>${esc(t('certs.status'))}</th></tr></thead><tbody>
  ${certs.authorities.map((a) => `<tr><td class="mono">${esc(a.id)}</td><td>${esc(a.algorithm)}</td><td class="mono">${esc(a.parent ?? t('certs.root'))}</td><td>${esc(formatDate(a.notAfter, lang))}</td><td>${esc(t(`certs.state.${a.status}`, { defaultValue: a.status }))}</td></tr>`).join('\n')}
  </tbody></table>
  <p>${esc(t('certs.expiring'))} <b id="certs-expiring">${num(certs.expiryDays.filter((x) => x <= 30).length)}</b></p>`
      : unavailable(reasonText(certs))
  }
</section>

<section id="drills">
  <h2>${esc(t('drills.heading'))}</h2>
  ${
    drills.available && drills.runs.length > 0
      ? `<div class="chart"><canvas id="chart-drills" aria-label="${esc(t('drills.chart'))}"></canvas></div>
  <table><thead><tr><th>${esc(t('drills.run'))}</th><th>${esc(t('drills.site'))}</th><th>${esc(t('drills.finished'))}</th><th>${esc(t('drills.result'))}</th><th>${esc(t('drills.rto'))}</th><th>${esc(t('drills.rpo'))}</th><th>${esc(t('drills.rowsLost'))}</th></tr></thead><tbody>
  ${drills.runs
    .slice(-12)
    .map(
      (r) =>
        `<tr><td class="mono">${esc(r.id)}</td><td>${esc(r.siteName)} <span class="mono">${esc(r.site)}</span></td><td>${esc(formatDateTime(r.finishedAt, lang))}</td><td>${badge(r.passed ? 'pass' : 'fail')}</td><td class="num">${r.rtoSeconds ?? '—'} s / ${r.rtoObjective} s</td><td class="num">${r.rpoSeconds ?? '—'} s / ${r.rpoObjective} s</td><td class="num">${r.rpoRows === null ? '—' : num(r.rpoRows)}</td></tr>`,
    )
    .join('\n')}
  </tbody></table>`
      : unavailable(drills.available ? t('drills.none') : reasonText(drills))
  }
</section>
</div>

<section id="wan">
  <h2>${esc(t('wan.heading'))}</h2>
  <div class="chart" style="height:220px"><canvas id="chart-wan" aria-label="${esc(t('wan.chart'))}"></canvas></div>
  ${d.wan.available ? `<p>${t('wan.plan', { links: num(d.wan.links), uplinks: num(d.wan.uplinks), two: `<b id="wan-two-uplinks">${num(d.wan.provincesWithTwoUplinks)}</b>`, provinces: num(d.wan.provinces) })}</p>` : unavailable(reasonText(d.wan))}
  <table><thead><tr><th>${esc(t('indicators.indicator'))}</th><th>${esc(t('indicators.target'))}</th><th>${esc(t('indicators.actual'))}</th><th>${esc(t('indicators.status'))}</th></tr></thead><tbody>
  ${wanIndicators.map((i) => `<tr><td>${esc(indicatorTitle.get(i.id)!)}</td><td class="num">${esc(i.target)}</td><td class="num">${pct(i.actual)}</td><td>${badge(i.status)}</td></tr>`).join('\n')}
  </tbody></table>
</section>
</main>
<footer>${t('footer')} ${opts.fontCss ? esc(t('fontCredit')) : ''}</footer>
<script id="posture-data" type="application/json">${script(d)}</script>
<script id="posture-page" type="application/json">${script(page)}</script>
<script>${chartJs}</script>
<script>
(function () {
  var d = JSON.parse(document.getElementById('posture-data').textContent);
  var P = JSON.parse(document.getElementById('posture-page').textContent);
  var L = P.labels;
  var C = { pass: '#1a7f37', fail: '#cf222e', manual: '#9a6700', notrun: '#8c959f', target: '#0b3d91' };
  function draw() {
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = P.fontStack;
    function bars(id, labels, datasets, opts) {
      var el = document.getElementById(id);
      if (!el) return;
      new Chart(el, { type: 'bar', data: { labels: labels, datasets: datasets }, options: opts || {} });
    }
    var ind = d.indicators;
    bars('chart-indicators', P.indicatorLabels, [
      { label: L.actual, data: ind.map(function (i) { return i.actual; }), backgroundColor: ind.map(function (i) { return i.status === 'met' ? C.pass : i.status === 'not-met' ? C.fail : C.notrun; }) },
      { label: L.target, data: ind.map(function (i) { return i.targetPercent; }), type: 'line', showLine: false, pointStyle: 'line', pointRadius: 14, pointBorderWidth: 3, borderColor: C.target, backgroundColor: C.target }
    ], { scales: { y: { min: 0, max: 100, title: { display: true, text: L.percent } } } });
    var pv = d.byProvince;
    bars('chart-provinces', pv.map(function (p) { return p.name; }), [
      { label: L.pass, data: pv.map(function (p) { return p.counts.pass; }), backgroundColor: C.pass },
      { label: L.fail, data: pv.map(function (p) { return p.counts.fail; }), backgroundColor: C.fail },
      { label: L['not-run'], data: pv.map(function (p) { return p.counts['not-run']; }), backgroundColor: C.notrun }
    ], { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: L.findings } } } });
    if (d.certificates.available) {
      var pr = d.certificates.byProfile;
      bars('chart-certificates', pr.map(function (p) { return p.profile; }), [
        { label: L.active, data: pr.map(function (p) { return p.active; }), backgroundColor: C.pass },
        { label: L.revoked, data: pr.map(function (p) { return p.revoked; }), backgroundColor: C.fail },
        { label: L.other, data: pr.map(function (p) { return p.other; }), backgroundColor: C.notrun }
      ], { scales: { x: { stacked: true }, y: { stacked: true } } });
    }
    if (d.drills.available && d.drills.runs.length > 0) {
      var runs = d.drills.runs;
      new Chart(document.getElementById('chart-drills'), { type: 'line', data: { labels: P.drillLabels, datasets: [
        { label: L.rto, data: runs.map(function (r) { return r.rtoSeconds; }), borderColor: C.target, backgroundColor: C.target },
        { label: L.rtoObjective, data: runs.map(function (r) { return r.rtoObjective; }), borderColor: C.fail, borderDash: [6, 4], pointRadius: 0 },
        { label: L.rowsLost, data: runs.map(function (r) { return r.rpoRows !== null ? r.rpoRows : r.rpoSeconds; }), borderColor: C.manual, backgroundColor: C.manual, yAxisID: 'rows' }
      ] }, options: { scales: { y: { title: { display: true, text: L.seconds }, min: 0 }, rows: { position: 'right', min: 0, title: { display: true, text: L.rows }, grid: { drawOnChartArea: false } } } } });
    }
    var wan = ind.filter(function (i) { return d.wan.indicators.indexOf(i.id) >= 0; });
    bars('chart-wan', P.wanLabels, [
      { label: L.actual, data: wan.map(function (i) { return i.actual; }), backgroundColor: wan.map(function (i) { return i.status === 'met' ? C.pass : C.fail; }) },
      { label: L.target, data: wan.map(function (i) { return i.targetPercent; }), backgroundColor: 'rgba(11,61,145,.25)' }
    ], { indexAxis: 'y', scales: { x: { min: 80, max: 100 } } });
    document.body.setAttribute('data-rendered', 'true');
  }
  // Canvas text does not make the browser load a web font: load the embedded faces for every
  // character the page and its charts show before drawing, so the charts' Chinese is not boxes.
  var text = document.body.textContent + JSON.stringify(P);
  var fonts = document.fonts;
  if (fonts && fonts.load) fonts.load('12px "${EMBEDDED_FAMILY}"', text).then(function () { return fonts.ready; }).then(draw, draw);
  else draw();
})();
</script>
</body>
</html>
`;
}

import { METRICS as M } from './metric-names.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: 'prometheus'; uid: '${datasource}' };
  targets: { refId: string; expr: string; legendFormat?: string; instant?: boolean }[];
  fieldConfig?: unknown;
  options?: unknown;
}

const DS = { type: 'prometheus', uid: '${datasource}' } as const;

/** The Grafana dashboard (JSON model, schema 39) over jinbao's metrics and recording rules. */
export function buildDashboard(): object {
  let id = 0;
  const panels: Panel[] = [];
  const add = (type: string, title: string, pos: Panel['gridPos'], targets: Panel['targets'], extra: Partial<Panel> = {}) =>
    panels.push({ id: ++id, type, title, gridPos: pos, datasource: DS, targets, ...extra });
  const percentUnit = { defaults: { unit: 'percent', min: 0, max: 100 }, overrides: [] };

  add('stat', 'Compliant (every binding control passes)', { x: 0, y: 0, w: 6, h: 4 }, [{ refId: 'A', expr: M.compliant, instant: true }], {
    fieldConfig: { defaults: { mappings: [{ type: 'value', options: { '0': { text: 'NOT COMPLIANT', color: 'red' }, '1': { text: 'COMPLIANT', color: 'green' } } }] }, overrides: [] },
  });
  add('stat', 'Binding controls failing', { x: 6, y: 0, w: 6, h: 4 }, [{ refId: 'A', expr: 'jinbao:compliance_binding_failing:count', instant: true }]);
  add('stat', 'Sample data', { x: 12, y: 0, w: 6, h: 4 }, [{ refId: 'A', expr: 'jinbao_inventory_sample_data', instant: true }], {
    fieldConfig: { defaults: { mappings: [{ type: 'value', options: { '0': { text: 'reported figures' }, '1': { text: 'SAMPLE figures', color: 'orange' } } }] }, overrides: [] },
  });
  add('bargauge', "Plan indicators (actual %, target in the table below)", { x: 0, y: 4, w: 12, h: 10 }, [{ refId: 'A', expr: M.kpiActual, legendFormat: '{{indicator}}', instant: true }], { fieldConfig: percentUnit });
  add('table', 'Indicator gap to target (percentage points)', { x: 12, y: 4, w: 12, h: 10 }, [{ refId: 'A', expr: 'jinbao:kpi_gap_percent > 0', legendFormat: '{{indicator}}', instant: true }]);
  add('timeseries', 'Inter-tier exchange error ratio (SLO windows)', { x: 0, y: 14, w: 12, h: 8 }, [
    { refId: 'A', expr: 'jinbao:exchange_error_ratio:rate5m', legendFormat: '{{site}} 5m' },
    { refId: 'B', expr: 'jinbao:exchange_error_ratio:rate1h', legendFormat: '{{site}} 1h' },
    { refId: 'C', expr: 'jinbao:exchange_error_ratio:rate6h', legendFormat: '{{site}} 6h' },
  ], { fieldConfig: { defaults: { unit: 'percentunit' }, overrides: [] } });
  add('timeseries', 'Replication lag vs RPO objective', { x: 12, y: 14, w: 12, h: 8 }, [
    { refId: 'A', expr: M.replicationLag, legendFormat: '{{site}} lag' },
    { refId: 'B', expr: M.rpoObjective, legendFormat: '{{site}} RPO' },
  ], { fieldConfig: { defaults: { unit: 's' }, overrides: [] } });
  add('table', 'DR drills: age of the latest drill, measured RTO, rows lost', { x: 0, y: 22, w: 12, h: 8 }, [
    { refId: 'A', expr: 'jinbao:drill_age_days', legendFormat: '{{site}}', instant: true },
    { refId: 'B', expr: M.drillRto, legendFormat: '{{site}}', instant: true },
    { refId: 'C', expr: M.drillRpoRows, legendFormat: '{{site}}', instant: true },
  ]);
  add('table', 'Certificates: CA time to expiry and certificates expiring in 30 days', { x: 12, y: 22, w: 12, h: 8 }, [
    { refId: 'A', expr: M.caSecondsToExpiry, legendFormat: '{{ca}}', instant: true },
    { refId: 'B', expr: M.certificatesExpiring, legendFormat: '{{profile}}', instant: true },
  ]);
  add('stat', 'WAN links down', { x: 0, y: 30, w: 6, h: 4 }, [{ refId: 'A', expr: `count(${M.wanLinkUp} == 0) or vector(0)`, instant: true }]);
  add('table', 'Compliance controls', { x: 6, y: 30, w: 18, h: 8 }, [{ refId: 'A', expr: `${M.complianceControl} == 1`, legendFormat: '{{control}} {{status}}', instant: true }]);

  return {
    title: 'jinbao: Golden Security fabric posture',
    uid: 'jinbao-posture',
    tags: ['jinbao', 'mlps', 'slo'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '1m',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }] },
    annotations: { list: [] },
    panels,
  };
}

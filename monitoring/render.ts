import { buildDashboard } from './dashboard.js';
import { renderRuleFiles, type RulesOptions } from './rules.js';

/** Every file `jinbao monitoring render` writes, relative path → content. */
export function renderMonitoring(opts: RulesOptions = {}): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(renderRuleFiles(opts)).map(([name, text]) => [`rules/${name}`, text])),
    'grafana/jinbao-posture.json': JSON.stringify(buildDashboard(), null, 2) + '\n',
  };
}

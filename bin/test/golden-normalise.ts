/** What the golden-output tests share: the cases, in order, and how outputs are normalised. */

const DAY_MS = 86_400_000;

/**
 * Replace what differs between two runs on the same code, and nothing else:
 * - the temporary directory (state and output paths are printed as given);
 * - certificate serials: 128-bit random hex, numbered by first appearance so that equal serials stay equal
 *   and different ones stay different (a primary and its standby never share a certificate);
 * - ISO timestamps (generatedAt) and calendar dates near the run's day (certificate validity, oldest audit
 *   record): they follow the clock. Dates far from today (e.g. the plan's 2015 targets) are kept;
 * - durations in seconds measured by a stage (`"seconds": 1.27`).
 */
export function normalise(text: string, tmp: string, now: number): string {
  const serials = new Map<string, string>();
  return text
    .split(tmp)
    .join('<tmp>')
    .replace(/\b[0-9a-f]{32}\b/g, (hex) => {
      if (!serials.has(hex)) serials.set(hex, `<serial-${serials.size + 1}>`);
      return serials.get(hex)!;
    })
    .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g, '<timestamp>')
    .replace(/\b(\d{4})-(\d{2})-(\d{2})\b/g, (date) => {
      const at = Date.parse(`${date}T00:00:00Z`);
      return Number.isFinite(at) && at > now - 2 * DAY_MS && at < now + 800 * DAY_MS ? '<date>' : date;
    })
    .replace(/"seconds": \d+(?:\.\d+)?(?:e-?\d+)?/g, '"seconds": "<seconds>"');
}

export interface GoldenCase {
  readonly name: string;
  readonly title: string;
  readonly args: readonly string[];
}

/** In this order, on one fresh state: `up` first, then the read commands on what it left. */
export function goldenCases(state: string, out: string): readonly GoldenCase[] {
  return [
    { name: 'up', title: 'up --json', args: ['--state', state, 'up', '--json', '--out', out] },
    { name: 'kpi', title: 'kpi --json', args: ['--state', state, 'kpi', '--json'] },
    { name: 'comply', title: 'comply --format json', args: ['--state', state, 'comply', '--format', 'json'] },
    { name: 'inventory-show', title: 'inventory show --json', args: ['--state', state, 'inventory', 'show', '--json'] },
  ];
}

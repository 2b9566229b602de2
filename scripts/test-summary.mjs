// The end of `npm test`: reads vitest's JSON report, lists every skipped test with its file and
// name, and prints the summary line CI reads last ("N passed, N failed, N skipped").
//
//   node scripts/test-summary.mjs REPORT OPTIONAL_TOOLS_FILE STRICT
//
// STRICT (1 as root or in CI): a skipped test fails the run (exit 1). Real-component tests skip
// only when their component is missing, and as root the suite installs every component Debian or
// npm ships, so a skip there is a broken install or a test hiding a failure. The one exception is
// a test that needs a tool the suite cannot install (listed in OPTIONAL_TOOLS_FILE): its title
// says so with "[needs TOOL, not installed by the suite]", and it is excused only while TOOL is
// really absent from the PATH. Otherwise (a developer as non-root) skips are listed, loudly, and
// do not change the exit code.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [reportFile, toolsFile, strictArg] = process.argv.slice(2);
const strict = strictArg === '1';
const report = JSON.parse(readFileSync(reportFile, 'utf8'));
const optionalTools = new Set(
  readFileSync(toolsFile, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean),
);
const onPath = (tool) => {
  try {
    execFileSync('sh', ['-c', 'command -v "$0"', tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const skipped = [];
for (const file of report.testResults) {
  for (const t of file.assertionResults) {
    if (t.status === 'passed' || t.status === 'failed') continue;
    const name = [...t.ancestorTitles, t.title].join(' > ');
    const tool = /\[needs ([\w.-]+), not installed by the suite\]/.exec(name)?.[1];
    let excuse;
    if (tool !== undefined && optionalTools.has(tool) && !onPath(tool)) excuse = `${tool} is not on the PATH; the suite cannot install it (scripts/optional-tools.txt)`;
    skipped.push({ file: relative(process.cwd(), file.name), name, status: t.status, excuse });
  }
}

const hidden = skipped.filter((s) => s.excuse === undefined);
const excused = skipped.filter((s) => s.excuse !== undefined);
const line = '='.repeat(100);
if (hidden.length > 0) {
  console.log(`\n${line}`);
  console.log(`${hidden.length} TEST(S) SKIPPED${strict ? ': THIS FAILS THE RUN (as root or in CI every real component is installed, so nothing may skip; each counts as failed below)' : ' (their real component is missing here; as root or in CI this fails the run)'}`);
  console.log(line);
  for (const s of hidden) console.log(`  ${s.file}: ${s.name}${s.status === 'todo' ? ' (todo)' : ''}`);
  console.log(line);
}
if (excused.length > 0) {
  console.log(`\n${excused.length} test(s) skipped because a tool the suite cannot install is absent (they run where it is present):`);
  for (const s of excused) console.log(`  ${s.file}: ${s.name}\n    ${s.excuse}`);
}
const failed = strict && hidden.length > 0;
console.log(`${report.numPassedTests} passed, ${report.numFailedTests + (failed ? hidden.length : 0)} failed${skipped.length ? `, ${skipped.length} skipped` : ''}`);
process.exit(failed ? 1 : 0);

// Reads JUnit XML files with xunit-viewer's own parser (the one its CLI and
// page use) and prints what it sees as JSON: each suite's name and the
// status of its tests, plus xunit-viewer's summary line. Suites that share
// a name are merged by xunit-viewer, as they are on its page.
// Usage: node xunit-suites.mjs FILE.xml...
import { readFileSync } from 'node:fs';
import parse from 'xunit-viewer/src/cli/parse.js';
import getDescription from 'xunit-viewer/src/cli/get-description.js';

const suites = {};
for (const file of process.argv.slice(2)) {
  const res = await parse(readFileSync(file, 'utf8'));
  for (const [key, suite] of Object.entries(res.suites)) {
    const into = (suites[key] = suites[key] || { name: suite.name, tests: {} });
    Object.assign(into.tests, suite.tests);
  }
}
const out = Object.values(suites).map((s) => {
  const statuses = {};
  for (const t of Object.values(s.tests)) statuses[t.status] = (statuses[t.status] || 0) + 1;
  return { name: s.name, tests: Object.keys(s.tests).length, statuses };
});
console.log(JSON.stringify({ suites: out, description: getDescription({ suites }) }));

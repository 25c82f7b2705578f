// Reads a CI YAML file with the `yaml` package and prints parts of it for
// the template tests: `get FILE PATH` prints the value at a dotted path
// (JSON for objects), `steps FILE JOB` prints the job's steps as JSON.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const [cmd, file, arg] = process.argv.slice(2);
const doc = parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
if (cmd === 'get') {
  let v = doc;
  for (const k of arg.split('.')) v = v?.[k];
  if (v === undefined) process.exit(1);
  console.log(typeof v === 'string' ? v : JSON.stringify(v));
} else if (cmd === 'steps') {
  console.log(JSON.stringify(doc.jobs[arg].steps));
} else {
  throw new Error(`unknown command ${cmd}`);
}

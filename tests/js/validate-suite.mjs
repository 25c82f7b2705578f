// Validates alts suite files against docs/suite.schema.json with ajv, the way
// an editor or another tool would use the schema: the YAML is read with the
// npm yaml package (YAML 1.2 core schema) and the data checked by ajv
// (JSON Schema draft 2020-12). tests/integration/t_suite_schema.sh compares
// its verdicts with alts-run --validate.
//
//   node validate-suite.mjs [--schema FILE] [--quiet] SUITE...
//
// Prints "FILE: ok" or "FILE: invalid: ..." (the reasons) for each file.
// Exit status: 0 when every file is valid, 1 when one is not, 2 on a usage
// error or an unusable schema.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';

// Suite-file rules alts applies before it parses YAML (framework/suite.c).
const SUITE_MAX_BYTES = 8 << 20;

const here = dirname(fileURLToPath(import.meta.url));
let schemaPath = join(here, '..', '..', 'docs', 'suite.schema.json');
let quiet = false;
const files = [];

const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--schema' && i + 1 < args.length) schemaPath = args[++i];
  else if (args[i] === '--quiet') quiet = true;
  else if (args[i] === '--') files.push(...args.slice(i + 1)), (i = args.length);
  else if (args[i].startsWith('-') && args[i] !== '-') usage(`unknown option ${args[i]}`);
  else files.push(args[i]);
}
if (!files.length) usage('no suite given');

function usage(msg) {
  console.error(`validate-suite: ${msg}\nusage: node validate-suite.mjs [--schema FILE] [--quiet] SUITE...`);
  process.exit(2);
}

let validate;
try {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTuples: false, allowUnionTypes: true });
  addFormats(ajv);
  validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
} catch (e) {
  console.error(`validate-suite: ${schemaPath}: ${e.message}`);
  process.exit(2);
}

// The suite's data, or throws with the reason it is not a suite document.
function load(file) {
  const buf = readFileSync(file);
  if (buf.length > SUITE_MAX_BYTES) throw new Error(`larger than ${SUITE_MAX_BYTES} bytes`);
  if (buf.includes(0)) throw new Error('contains a NUL byte');
  const docs = parseAllDocuments(buf.toString('utf8'), { uniqueKeys: true });
  if (!Array.isArray(docs)) throw new Error('the document is empty');  // an EmptyStream
  if (docs.length > 1) throw new Error('expected one document, found another');
  const [doc] = docs;
  if (!doc) throw new Error('the document is empty');
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length) throw new Error(`invalid YAML: ${problems[0].message.split('\n')[0]}`);
  if (doc.contents === null) throw new Error('the document is empty');
  return doc.toJS({ maxAliasCount: -1 });
}

let status = 0;
for (const file of files) {
  let data;
  try {
    data = load(file);
  } catch (e) {
    status = 1;
    if (!quiet) console.log(`${file}: invalid: ${e.message}`);
    continue;
  }
  if (validate(data)) {
    if (!quiet) console.log(`${file}: ok`);
    continue;
  }
  status = 1;
  if (!quiet) {
    const why = validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`);
    console.log(`${file}: invalid: ${[...new Set(why)].join('; ')}`);
  }
}
process.exit(status);

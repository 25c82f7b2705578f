// Reads a TAP file with the npm tap-parser and prints, as JSON, the test
// points counted per nesting level, parse errors, non-TAP lines, the bail
// out reason and every point with its YAML diagnostics: the same shape as
// tests/integration/lib/tap_counts.pl prints for TAP::Parser.
//
//   node tap-counts.mjs FILE
import { readFileSync } from 'node:fs';
import { Parser } from 'tap-parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node tap-counts.mjs FILE');
  process.exit(2);
}

const levels = [];
const asserts = [];
const parseErrors = [];
let garbage = 0;
let bailout = null;

const level = (d) =>
  (levels[d] ??= { total: 0, ok: 0, not_ok: 0, todo: 0, skip: 0, failed: 0 });
const flag = (v) => v !== false && v !== undefined && v !== null;

function watch(parser, depth) {
  parser.on('assert', (a) => {
    const c = level(depth);
    c.total++;
    if (a.ok) c.ok++;
    else c.not_ok++;
    if (flag(a.todo)) c.todo++;
    if (flag(a.skip)) c.skip++;
    if (!a.ok && !flag(a.todo)) c.failed++;
    asserts.push({
      depth, name: a.name, ok: a.ok, todo: flag(a.todo), skip: flag(a.skip), diag: a.diag ?? null,
    });
  });
  parser.on('child', (child) => watch(child, depth + 1));
  parser.on('extra', () => garbage++);
  parser.on('bailout', (reason) => {
    if (depth === 0) bailout = reason;
  });
  parser.on('complete', (results) => {
    for (const f of results.failures) {
      if (f.tapError) parseErrors.push(`level ${depth}: ${f.tapError}`);
    }
  });
}

const root = new Parser({ strict: false });
watch(root, 0);
root.on('complete', () => {
  process.stdout.write(
    JSON.stringify({ levels, parse_errors: parseErrors, garbage, bailout, asserts }) + '\n',
  );
});
root.end(readFileSync(file));

// A structural check of a Jenkinsfile without Jenkins: strings and comments
// are skipped, (), [] and {} must balance, the declarative sections and the
// steps given must be there; the contents of ''' strings (the sh scripts)
// are written to DIR/sh-N.sh for `bash -n`.
// Usage: node jenkinsfile-check.mjs JENKINSFILE DIR WORD...   (WORD: a required token, e.g. "junit")
import { readFileSync, writeFileSync } from 'node:fs';

const [file, dir, ...required] = process.argv.slice(2);
const src = readFileSync(file, 'utf8');
const errors = [];
const stack = [];
const pairs = { ')': '(', ']': '[', '}': '{' };
let code = '';
const scripts = [];
let line = 1;

for (let i = 0; i < src.length;) {
  const rest = src.slice(i, i + 3);
  let end, kind;
  if (src.startsWith('//', i)) { end = src.indexOf('\n', i); end = end < 0 ? src.length : end; kind = 'comment'; }
  else if (src.startsWith('/*', i)) { end = src.indexOf('*/', i + 2); if (end < 0) { errors.push(`${line}: unterminated comment`); break; } end += 2; kind = 'comment'; }
  else if (rest === "'''" || rest === '"""') { end = src.indexOf(rest, i + 3); if (end < 0) { errors.push(`${line}: unterminated ${rest} string`); break; } if (rest === "'''") scripts.push(src.slice(i + 3, end)); end += 3; kind = 'string'; }
  else if (src[i] === "'" || src[i] === '"') {
    const q = src[i];
    let j = i + 1;
    while (j < src.length && src[j] !== q && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
    if (src[j] !== q) { errors.push(`${line}: unterminated ${q} string`); break; }
    end = j + 1; kind = 'string';
  }
  if (kind) {
    const text = src.slice(i, end);
    line += (text.match(/\n/g) || []).length;
    code += kind === 'string' ? '""' : '\n'.repeat((text.match(/\n/g) || []).length);
    i = end;
    continue;
  }
  const c = src[i];
  if (c === '\n') line++;
  if ('([{'.includes(c)) stack.push({ c, line });
  if (')]}'.includes(c)) {
    const top = stack.pop();
    if (!top || top.c !== pairs[c]) errors.push(`${line}: '${c}' closes ${top ? `'${top.c}' of line ${top.line}` : 'nothing'}`);
  }
  code += c;
  i++;
}
for (const open of stack) errors.push(`${open.line}: '${open.c}' is never closed`);

const sections = [/^\s*pipeline\s*\{/m, /^\s*agent\s+/m, /^\s*stages\s*\{/m, /^\s*stage\s*\(\s*""\s*\)\s*\{/m,
  /^\s*steps\s*\{/m, /^\s*post\s*\{/m];
for (const re of sections) if (!re.test(code)) errors.push(`missing section ${re}`);
for (const word of required) if (!new RegExp(`\\b${word}\\b`).test(code)) errors.push(`missing step '${word}'`);
// Groovy removes a backslash-newline inside ''' strings: the shell sees one line
scripts.forEach((s, n) => writeFileSync(`${dir}/sh-${n + 1}.sh`, s.replace(/\\\n/g, ' ')));
if (errors.length) { for (const e of errors) console.log(`${file}:${e}`); process.exit(1); }
console.log(`${file}: balanced, sections present, ${required.length} steps found, ${scripts.length} sh scripts`);

// Reads a PNG (8-bit greyscale, RGB or RGBA, not interlaced: what Chromium
// writes) and prints JSON: width, height, the number of distinct colours and
// how many pixels have each colour asked for as #rrggbb.
// Usage: node png-colors.mjs FILE.png [#rrggbb...]
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

const [file, ...want] = process.argv.slice(2);
const png = readFileSync(file);
if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error(`${file}: not a PNG`);

let width = 0, height = 0, depth = 0, type = 0, interlace = 0;
const idat = [];
for (let off = 8; off < png.length;) {
  const len = png.readUInt32BE(off), kind = png.toString('latin1', off + 4, off + 8);
  const data = png.subarray(off + 8, off + 8 + len);
  if (kind === 'IHDR') {
    width = data.readUInt32BE(0); height = data.readUInt32BE(4);
    depth = data[8]; type = data[9]; interlace = data[12];
  } else if (kind === 'IDAT') idat.push(data);
  off += 12 + len;
}
const channels = { 0: 1, 2: 3, 6: 4 }[type];
if (depth !== 8 || !channels || interlace) throw new Error(`${file}: unsupported PNG (depth ${depth}, type ${type})`);

const raw = inflateSync(Buffer.concat(idat));
const stride = width * channels;
const out = Buffer.alloc(stride * height);
const paeth = (a, b, c) => {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};
for (let y = 0; y < height; y++) {
  const filter = raw[y * (stride + 1)], src = y * (stride + 1) + 1, dst = y * stride;
  for (let x = 0; x < stride; x++) {
    const a = x >= channels ? out[dst + x - channels] : 0;
    const b = y ? out[dst - stride + x] : 0;
    const c = y && x >= channels ? out[dst - stride + x - channels] : 0;
    const v = raw[src + x];
    out[dst + x] = (filter === 0 ? v : filter === 1 ? v + a : filter === 2 ? v + b :
      filter === 3 ? v + ((a + b) >> 1) : paeth(a, b, c) + v) & 0xff;
  }
}

const colours = new Map();
for (let i = 0; i < out.length; i += channels) {
  const rgb = channels === 1 ? [out[i], out[i], out[i]] : [out[i], out[i + 1], out[i + 2]];
  const key = '#' + rgb.map((v) => v.toString(16).padStart(2, '0')).join('');
  colours.set(key, (colours.get(key) || 0) + 1);
}
const pixels = {};
for (const w of want) pixels[w.toLowerCase()] = colours.get(w.toLowerCase()) || 0;
console.log(JSON.stringify({ width, height, colours: colours.size, pixels }));

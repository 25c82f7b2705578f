// Starts @20minutes/s3rver (an S3 emulator that checks Signature V4) for the integration
// tests (tests/integration/lib/s3rver.sh): the published package has no CLI script.
// Usage: node s3rver.mjs DIRECTORY ADDRESS PORT SERVICE_ENDPOINT BUCKET [loose]
// (loose: accept mismatched signatures; see tests/integration/lib/s3rver.sh)
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const S3rver = require('@20minutes/s3rver');
const [directory, address, port, serviceEndpoint, bucket, loose] = process.argv.slice(2);
const server = new S3rver({
  directory,
  address,
  port: Number(port),
  serviceEndpoint,
  silent: false,
  configureBuckets: [{ name: bucket }],
  allowMismatchedSignatures: loose === 'loose',
});

await server.run();
console.log(`s3rver listening on ${address}:${port}`);
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close().then(() => process.exit(0)));
}

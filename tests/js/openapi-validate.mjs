// Validates an OpenAPI document with @apidevtools/swagger-parser (tests/integration/t_scheduler_api.sh)
// and prints its operations, one "METHOD /path" per line.
// Usage: node openapi-validate.mjs FILE
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
try {
  const api = await SwaggerParser.validate(file);
  for (const [path, item] of Object.entries(api.paths)) {
    for (const method of Object.keys(item)) {
      if (["get", "put", "post", "delete", "patch", "head", "options"].includes(method))
        console.log(`${method.toUpperCase()} ${path}`);
    }
  }
} catch (e) {
  console.error(`openapi-validate: ${file}: ${e.message}`);
  process.exit(1);
}

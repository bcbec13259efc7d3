// Validates an OpenAPI 3.0 document with @apidevtools/swagger-parser (the JSON schema of the
// specification plus every $ref resolved). Usage: node openapi_lint.mjs FILE. Exit 0 when valid;
// otherwise prints what is wrong and exits 1. tests/e2e/test_openapi.py runs it on what a real
// `berth server` serves at /v1/openapi.json.
import SwaggerParser from "@apidevtools/swagger-parser";
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node openapi_lint.mjs FILE");
  process.exit(2);
}
try {
  const doc = JSON.parse(readFileSync(file, "utf8"));
  if (!String(doc.openapi || "").startsWith("3.0.")) throw new Error(`openapi: want 3.0.x, got ${doc.openapi}`);
  const api = await SwaggerParser.validate(doc);
  console.log(`valid: ${api.info.title} ${api.info.version}, ${Object.keys(api.paths).length} paths`);
} catch (e) {
  console.error(`invalid: ${e.message}`);
  process.exit(1);
}

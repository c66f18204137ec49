// Ajv's verdicts on the project's schemas and examples, with every strict-mode check on.
//
//   node tools/validators/ajv-check.mjs SCHEMAS_DIR < job.json > verdicts.json
//
// Every *.schema.json in SCHEMAS_DIR is registered under its $id and compiled by Ajv2020 with
// strict: true (strictSchema, strictNumbers, strictTypes, strictTuples, strictRequired: none
// relaxed) and ajv-formats, so a schema that only lenient defaults accept shows up as a
// compile error rather than as a silently different verdict.
//
// job.json is {"cases": [{"schema": <a schema, e.g. {"$ref": "<$id>"}>, "data": <instance>}]};
// the output is {"validator", "compiled": [$id], "compile_errors": {$id: message},
// "results": [{"valid": true|false|null, "errors": [...]}]} in the cases' order, valid being
// null where the case's schema did not compile. tests/test_validators.py runs it, with ajv
// installed from this folder's package-lock.json (npm ci) and found through NODE_PATH.

import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;
const ajvVersion = require("ajv/package.json").version;
const formatsVersion = require("ajv-formats/package.json").version;

function strictAjv() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}

function message(error) {
  return error instanceof Error ? error.message : String(error);
}

const schemasDir = process.argv[2];
if (!schemasDir) {
  console.error("usage: node ajv-check.mjs SCHEMAS_DIR < job.json");
  process.exit(4);
}

const ajv = strictAjv();
const ids = [];
for (const name of readdirSync(schemasDir).filter((n) => n.endsWith(".schema.json")).sort()) {
  const schema = JSON.parse(readFileSync(join(schemasDir, name), "utf8"));
  ajv.addSchema(schema);
  ids.push(schema.$id);
}

// Compiled one by one, so that each schema's own strict-mode problem is named.
const compiled = [];
const compileErrors = {};
for (const id of ids) {
  try {
    ajv.getSchema(id);
    compiled.push(id);
  } catch (error) {
    compileErrors[id] = message(error);
  }
}

const job = JSON.parse(readFileSync(0, "utf8"));
const results = job.cases.map(({ schema, data }) => {
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    return { valid: null, errors: [message(error)] };
  }
  const valid = validate(data);
  return { valid, errors: valid ? [] : validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`) };
});

process.stdout.write(JSON.stringify({
  validator: `ajv ${ajvVersion} (Ajv2020, strict: true) + ajv-formats ${formatsVersion}`,
  compiled,
  compile_errors: compileErrors,
  results,
}));

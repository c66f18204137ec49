// The package as a user gets it: `npm pack`, installed from the tarball into an empty project,
// and everything there checked through the installed copy. Its schemas compile with Ajv in
// strict mode and validate every fixture file; its TypeScript client gives every negative case
// its label, on the body and over HTTP, reads every recorded stream to the terminal line the
// manifest expects, and its CLI keeps the contract of `python -m conformance clients`.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { constants as zlibConstants, createGzip } from "node:zlib";

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

import { negativeResponse, recordedResponse, startReplay } from "./replay.mjs";

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
const REPO_DIR = join(PACKAGE_DIR, "..");
const NAME = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")).name;
const BASE_ID = "https://airflow-dag-result-conformance.invalid/schemas/";
const BYTE_LEVEL = ["body_base64", "status", "content_encoding", "chunk_sizes", "cut"];
const runFile = promisify(execFile);

let work; // the temp folder: the tarball and the consumer project
let packed; // npm pack --json's record of the tarball
let consumer; // the empty project the tarball is installed into
let root; // the installed package's folder
let kit; // the installed package's module
let replay; // the HTTP server that sends fixture responses
const data = {}; // fixture files as read from the installed package

function readInstalled(path) {
  return readFileSync(join(root, path), "utf8");
}

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), "conformance-npm-"));
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: PACKAGE_DIR, encoding: "utf8", stdio: "pipe" });
  [packed] = JSON.parse(out);
  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "0.0.0", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, packed.filename)], { cwd: consumer, stdio: "pipe" });
  const require = createRequire(join(consumer, "package.json"));
  root = dirname(require.resolve(`${NAME}/package.json`));
  kit = await import(pathToFileURL(require.resolve(NAME)).href);

  const negativeText = readInstalled("fixtures/negative-streams.json");
  data.negative = JSON.parse(negativeText).cases;
  data.negativeOrdered = kit.parseJson(negativeText).get("cases"); // the same cases, key order kept
  const manifestText = readInstalled("fixtures/streams/manifest.json");
  data.manifest = JSON.parse(manifestText).cases;
  data.manifestOrdered = kit.parseJson(manifestText).get("cases");
  data.transcripts = new Map(data.manifest.map((entry) => [entry.id, JSON.parse(readInstalled(`fixtures/streams/${entry.file}`))]));

  const routes = new Map();
  for (const testCase of data.negative) routes.set(`/negative/${testCase.id}`, negativeResponse(testCase));
  for (const [id, transcript] of data.transcripts) routes.set(`/recorded/${id}`, recordedResponse(transcript));
  routes.set("/silent", (socket) => socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n15\r\n{"state": "running"}\n\r\n'));
  routes.set("/forever", (socket) => {
    socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
    const timer = setInterval(() => socket.write('15\r\n{"state": "running"}\n\r\n'), 50);
    socket.on("close", () => clearInterval(timer));
  });
  replay = await startReplay(routes);
});

after(async () => {
  await replay?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** What differs between a terminal line (a Map) and an `expect` of cases.schema.json (a Map). */
function expectProblems(terminal, expect) {
  const problems = [];
  if (terminal.get("state") !== expect.get("state")) problems.push(`state ${terminal.get("state")}, expected ${expect.get("state")}`);
  const results = terminal.get("results");
  if (expect.has("string_digests")) {
    for (const [taskId, digest] of expect.get("string_digests")) {
      const value = results?.get(taskId);
      if (typeof value !== "string") {
        problems.push(`${taskId} is not a string`);
        continue;
      }
      const codePoints = [...value].length; // the unit of string_digests.length (CLIENTS.md)
      if (codePoints !== digest.get("length")) problems.push(`${taskId} has ${codePoints} code points, expected ${digest.get("length")}`);
      if (createHash("sha256").update(value, "utf8").digest("hex") !== digest.get("sha256")) problems.push(`${taskId}: SHA-256 differs`);
    }
    if (results === undefined || results.size !== expect.get("string_digests").size) problems.push("results hold other tasks");
  } else if (expect.has("results")) {
    const want = kit.stringifyJson(expect.get("results"));
    const got = results === undefined ? "no results" : kit.stringifyJson(results);
    if (got !== want) problems.push(`results ${got}, expected ${want}`);
  } else if (results !== undefined) {
    problems.push(`results ${kit.stringifyJson(results)}, expected none`);
  }
  return problems;
}

async function verdictOf(promise) {
  try {
    return { verdict: "accept", result: await promise };
  } catch (error) {
    if (!(error instanceof kit.StreamError)) throw error;
    return { verdict: "reject", error };
  }
}

function verdictOfSync(run) {
  return verdictOf(Promise.resolve().then(run));
}

function recordedUrl(id) {
  const query = new URLSearchParams(data.transcripts.get(id).request.query).toString();
  return replay.url(`/recorded/${id}`, query);
}

// --- the tarball ---------------------------------------------------------------------------------

test("npm pack ships the compiled client, the schemas, the fixtures and the rules, and no sources", () => {
  const files = new Set(packed.files.map((file) => file.path));
  for (const path of ["package.json", "README.md", "CLIENTS.md", "dist/index.js", "dist/index.d.ts", "dist/cli.js", "fixtures/negative-streams.json", "fixtures/streams/manifest.json"]) {
    assert.ok(files.has(path), `${path} is missing from the tarball`);
  }
  const repoSchemas = readdirSync(join(REPO_DIR, "schemas")).filter((name) => name.endsWith(".json"));
  assert.deepEqual(repoSchemas.filter((name) => !files.has(`schemas/${name}`)), []);
  const repoFixtures = filesUnder(join(REPO_DIR, "fixtures")).map((path) => `fixtures/${relative(join(REPO_DIR, "fixtures"), path)}`);
  assert.deepEqual(repoFixtures.filter((path) => !files.has(path)), []);
  assert.equal(files.has("LICENSE"), existsSync(join(REPO_DIR, "LICENSE")));
  assert.deepEqual([...files].filter((path) => /^(src|test|scripts|node_modules)\//.test(path) || path.endsWith(".tgz")), []);
  assert.equal(readInstalled("CLIENTS.md"), readFileSync(join(REPO_DIR, "CLIENTS.md"), "utf8"));
});

test("the package's copies exist only inside the tarball: packing leaves the package folder as it was", () => {
  for (const name of ["schemas", "fixtures", "CLIENTS.md", "LICENSE", "dist"]) assert.ok(!existsSync(join(PACKAGE_DIR, name)), `${name} left behind`);
});

test("an empty project imports the client by name and resolves the data through exports", async () => {
  const script = `import { parseBody } from ${JSON.stringify(NAME)};
import { once } from "node:events";
import { createRequire } from "node:module";
import { createServer } from "node:net";
const require = createRequire(import.meta.url);
const result = parseBody('{"state": "running"}\\n{"state": "success", "results": {"t": 1}}\\n');
console.log(JSON.stringify({ state: result.state, schema: require.resolve(${JSON.stringify(`${NAME}/schemas/wait-line.schema.json`)}),
  fixture: require.resolve(${JSON.stringify(`${NAME}/fixtures/streams/manifest.json`)}), rules: require.resolve(${JSON.stringify(`${NAME}/CLIENTS.md`)}) }));`;
  const { stdout } = await runFile(process.execPath, ["--input-type=module", "-e", script], { cwd: consumer });
  const seen = JSON.parse(stdout);
  assert.equal(seen.state, "success");
  for (const key of ["schema", "fixture", "rules"]) assert.ok(existsSync(seen[key]) && seen[key].startsWith(root), `${key}: ${seen[key]}`);
});

// --- the schemas ---------------------------------------------------------------------------------

function strictAjv() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  for (const path of filesUnder(join(root, "schemas")).filter((path) => path.endsWith(".schema.json"))) {
    ajv.addSchema(JSON.parse(readFileSync(path, "utf8")));
  }
  return ajv;
}

test("every schema compiles with Ajv2020 in strict mode", () => {
  const ajv = strictAjv();
  const failures = [];
  for (const path of filesUnder(join(root, "schemas")).filter((path) => path.endsWith(".schema.json"))) {
    const id = JSON.parse(readFileSync(path, "utf8")).$id;
    assert.equal(id, BASE_ID + relative(join(root, "schemas"), path), "each schema's $id names its file");
    try {
      ajv.getSchema(id);
    } catch (error) {
      failures.push(`${id.slice(BASE_ID.length)}: ${error.message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test("every fixture file that names its schema is valid against it, every transcript included", () => {
  const ajv = strictAjv();
  const failures = [];
  const checked = new Set();
  for (const path of filesUnder(join(root, "fixtures")).filter((path) => path.endsWith(".json"))) {
    const instance = JSON.parse(readFileSync(path, "utf8"));
    if (typeof instance.$schema !== "string") continue;
    const id = instance.$schema.startsWith(BASE_ID) ? instance.$schema : BASE_ID + instance.$schema.split("/").pop();
    const validate = ajv.getSchema(id);
    assert.ok(validate, `${relative(root, path)} names ${instance.$schema}, which the package lacks`);
    if (!validate(instance)) failures.push(`${relative(root, path)}: ${ajv.errorsText(validate.errors)}`);
    checked.add(relative(join(root, "fixtures"), path));
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(data.manifest.map((entry) => `streams/${entry.file}`).filter((file) => !checked.has(file)), []);
  assert.ok(checked.has("negative-streams.json") && checked.has("streams/manifest.json"));
});

test("the schema examples are judged by Ajv as labelled, and wait-line ones by the client too", () => {
  const ajv = strictAjv();
  const disagreements = [];
  for (const path of filesUnder(join(root, "fixtures", "schema-examples"))) {
    for (const group of JSON.parse(readFileSync(path, "utf8"))) {
      const schema = typeof group.schema === "string" ? { $ref: BASE_ID + group.schema } : group.schema;
      const validate = ajv.compile(schema);
      const isWaitLine = JSON.stringify(schema).includes("wait-line.schema.json");
      for (const example of group.tests) {
        const where = `${relative(root, path)}: ${group.description}: ${example.description}`;
        if (validate(example.data) !== example.valid) disagreements.push(`ajv on ${where}`);
        if (!isWaitLine) continue;
        const reader = new kit.StreamReader();
        let accepted = true;
        try {
          reader.feed(`${JSON.stringify(example.data)}\n`);
        } catch (error) {
          if (!(error instanceof kit.StreamError)) throw error;
          accepted = false;
        }
        if (accepted !== example.valid) disagreements.push(`the client on ${where}`);
      }
    }
  }
  assert.deepEqual(disagreements, []);
});

// --- the client on the negative corpus -----------------------------------------------------------

test("the client gives every text-level negative case its label, from the text and from the bytes", async () => {
  const wrong = [];
  for (const [index, testCase] of data.negative.entries()) {
    if (BYTE_LEVEL.some((field) => field in testCase)) continue;
    for (const body of [testCase.body, new TextEncoder().encode(testCase.body)]) {
      const outcome = await verdictOfSync(() => kit.parseBody(body));
      if (outcome.verdict !== testCase.verdict) wrong.push(`${testCase.id}: ${outcome.verdict}ed (${outcome.error?.message ?? "no error"})`);
      else if (outcome.verdict === "reject") assert.match(outcome.error.message, /^line \d+: |ended|empty/);
      else assert.equal(kit.stringifyJson(outcome.result.lines.at(-1)), kit.stringifyJson(data.negativeOrdered[index].get("expect")), testCase.id);
    }
  }
  assert.deepEqual(wrong, []);
});

test("the client gives every negative case its label over HTTP, byte-level cases included", async () => {
  const wrong = [];
  for (const [index, testCase] of data.negative.entries()) {
    const outcome = await verdictOf(kit.waitForResult(replay.url(`/negative/${testCase.id}`), { timeoutSeconds: 10 }));
    if (outcome.verdict !== testCase.verdict) wrong.push(`${testCase.id}: ${outcome.verdict}ed (${outcome.error?.message ?? "no error"})`);
    else if (outcome.verdict === "accept") {
      assert.equal(kit.stringifyJson(outcome.result.lines.at(-1)), kit.stringifyJson(data.negativeOrdered[index].get("expect")), testCase.id);
    }
  }
  assert.deepEqual(wrong, []);
});

test("rejections say where and what, in the words of the rules", async () => {
  const message = async (id) => (await verdictOf(kit.waitForResult(replay.url(`/negative/${id}`)))).error.message;
  assert.match(await message("truncated-last-line"), /^line 3: the stream ended inside this line/);
  assert.match(await message("duplicate-key"), /^line 1: not valid JSON \(duplicate key "state"/);
  assert.match(await message("no-break-space-line"), /^line 2: not valid JSON .*: \\u00a0$/);
  assert.match(await message("error-detail-mid-stream"), /^line 2: the server reported an error mid-stream: "Internal Server Error"$/);
  assert.match(await message("ends-after-running"), /^the stream ended while the run was still running \(after line 3\)/);
  assert.match(await message("invalid-utf8-in-value"), /^line 2: not valid UTF-8$/);
  assert.match(await message("cut-after-terminal-line"), /^the response broke off after line 2: aborted \(ECONNRESET\)$/);
  assert.match(await message("http-422-interval-missing"), /^GET \/negative\/http-422-interval-missing answered 422 Unprocessable Entity: query\.interval: Field required$/);
  assert.match(await message("known-key-in-other-case"), /^line 2: key "Results" is "results" in another case, which a reader that ignores case takes for it: /);
  // CLIENT-LINE-3: the member besides detail is ignored, the detail reported as it stands
  assert.match(await message("http-404-extra-member"), /^GET \/negative\/http-404-extra-member answered 404 Not Found: The DagRun with dag_id: `dag_return` and run_id: `no-such-run` was not found$/);
});

test("unknown keys are ignored and not returned; state or results in another case is rejected (CLIENT-LINE-3)", async () => {
  const result = kit.parseBody(
    '{"state": "queued", "queue_position": 3}\n{"state": "running", "detail": "still going", "States": 1, "State\\n": 2}\n' +
      '{"x": 0, "state": "success", "dag_run_url": "/r", "results": {"t": {"keep": 1}}, "z": [1]}\n',
  );
  assert.deepEqual(result.lines.map((line) => kit.stringifyJson(line)), ['{"state":"queued"}', '{"state":"running"}', '{"state":"success","results":{"t":{"keep":1}}}']);
  for (const line of [
    '{"state": "success", "Results": {"t": 1}}',
    '{"state": "success", "results": {"t": 1}, "RESULTS": {"t": 2}}',
    '{"State": "success"}',
    '{"state": "running", "sTaTe": "success"}',
    '{"state": "success", "\\u017ftate": "failed"}',
    '{"state": "success", "re\\u017fult\\u017f": {"t": 1}}',
  ]) {
    const outcome = await verdictOfSync(() => kit.parseBody(`${line}\n`));
    assert.equal(outcome.verdict, "reject", line);
    assert.match(outcome.error.message, /^line 1: key "[^"]+" is "(state|results)" in another case/, line);
  }
});

// --- the client on the recorded streams ----------------------------------------------------------

test("the client reads every recorded stream, served as it travelled, to the terminal line the manifest expects", async () => {
  const wrong = [];
  for (const [index, entry] of data.manifest.entries()) {
    const body = data.transcripts.get(entry.id).response.body;
    const outcome = await verdictOf(kit.waitForResult(recordedUrl(entry.id), { timeoutSeconds: 20 }));
    if (outcome.verdict === "reject") {
      wrong.push(`${entry.id}: rejected (${outcome.error.message})`);
      continue;
    }
    const lines = kit.splitLines(body);
    assert.equal(outcome.result.lines.length, lines.length, entry.id);
    assert.equal(kit.stringifyJson(outcome.result.lines.at(-1)), kit.stringifyJson(kit.parseJson(lines.at(-1))), entry.id);
    const problems = expectProblems(outcome.result.lines.at(-1), data.manifestOrdered[index].get("expect"));
    if (entry.diverges.length === 0 && problems.length > 0) wrong.push(`${entry.id}: ${problems.join("; ")}`);
    if (entry.diverges.length > 0 && problems.length === 0) wrong.push(`${entry.id}: declared divergent, yet it meets the case`);
  }
  assert.deepEqual(wrong, []);
});

// --- the CLI ---------------------------------------------------------------------------------------

async function cli(...args) {
  return cliWith({}, ...args);
}

async function cliWith(env, ...args) {
  const bin = join(consumer, "node_modules", ".bin", "airflow-dag-result-wait");
  try {
    const { stdout, stderr } = await runFile(bin, args, { cwd: consumer, env: { ...process.env, AIRFLOW_WAIT_URL: "", ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    if (typeof error.code !== "number") throw error;
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

test("the CLI prints the terminal line as received, keys in wire order, and exits 0", async () => {
  const keys = await cli(replay.url("/negative/integer-like-keys"));
  assert.deepEqual(keys, { code: 0, stdout: '{"state":"success","results":{"2":"second","10":"tenth","1":{"b":2,"a":1,"0":0}}}\n', stderr: "" });
  const big = await cli(replay.url("/negative/big-integer-value"));
  assert.equal(big.stdout, '{"state":"success","results":{"count":12345678901234567891}}\n');
  const recorded = await cli("--timeout", "20", recordedUrl("result-key-order")); // served gzipped
  assert.equal(recorded.code, 0);
  assert.equal(recorded.stdout, '{"state":"success","results":{"ordered":{"zulu":1,"alpha":2,"mike":3}}}\n');
  const separators = await cli(replay.url("/negative/line-separator-in-value")); // ASCII: no reader can split it
  assert.equal(separators.stdout, '{"state":"success","results":{"note":"one\\u2028two\\u0085three"}}\n');
  const unknownKey = await cli(replay.url("/negative/extra-top-level-key")); // CLIENT-LINE-3: not passed on
  assert.deepEqual(unknownKey, { code: 0, stdout: '{"state":"success"}\n', stderr: "" });
  const fromEnvironment = await cliWith({ AIRFLOW_WAIT_URL: replay.url("/negative/terminal-only") });
  assert.deepEqual(fromEnvironment, { code: 0, stdout: '{"state":"failed"}\n', stderr: "" });
});

test("the CLI prints why it rejected a stream as one JSON line, and exits 1", async () => {
  for (const [id, start] of [["line-after-terminal", "line 3: a line after the terminal"], ["http-404-unknown-run", "GET /negative/http-404-unknown-run answered 404"]]) {
    const { code, stdout } = await cli(replay.url(`/negative/${id}`));
    assert.equal(code, 1, id);
    assert.equal(stdout.split("\n").length, 2, "one line");
    assert.ok(JSON.parse(stdout).error.startsWith(start), stdout);
  }
});

test("the CLI answers bad usage with one sentence and exit code 4", async () => {
  for (const args of [[], ["http://a/x", "http://b/y"], ["not a url"], ["ftp://host/wait"], ["--timeout=-3", "http://a/x"], ["--timeout", "-3", "http://a/x"], ["--timeout", "soon", "http://a/x"], ["--colour", "http://a/x"]]) {
    const { code, stdout, stderr } = await cli(...args);
    assert.equal(code, 4, args.join(" "));
    assert.equal(stdout, "");
    assert.match(stderr, /^[^\n]+\n$/, args.join(" "));
  }
});

// --- time, requests and JSON ---------------------------------------------------------------------

test("a silent server hits the read timeout, an endless stream the deadline (CLIENT-TIMEOUT-1)", async () => {
  const silent = await verdictOf(kit.waitForResult(replay.url("/silent"), { readTimeoutSeconds: 0.3 }));
  assert.ok(silent.error instanceof kit.WaitTimeout);
  assert.equal(silent.error.message, "the server sent nothing for 0.3 s after line 1");
  const endless = await verdictOf(kit.waitForResult(replay.url("/forever"), { timeoutSeconds: 0.4 }));
  assert.ok(endless.error instanceof kit.WaitTimeout);
  assert.equal(endless.error.message, "the run had not finished after 0.4 s (its state was still running)");
});

test("the read timeout is the last interval plus 30 s, and unbounded without a finite one", () => {
  const timeout = (query) => kit.readTimeoutSeconds(new URL(`http://h/wait?${query}`));
  assert.equal(timeout("interval=2"), 32);
  assert.equal(timeout("interval=1&interval=5"), 35);
  assert.equal(timeout("interval=inf"), Infinity);
  assert.equal(timeout("interval=abc"), Infinity);
  assert.equal(timeout("result=a"), Infinity);
});

test("waitUrl sends one result parameter per task id and percent-encodes the ids (CLIENT-REQUEST-1)", () => {
  const runId = "manual__2025-01-01T00:00:00+00:00";
  assert.equal(
    kit.waitUrl("http://h:8080", "my dag", runId, { interval: 2, result: ["a", "b"] }).href,
    "http://h:8080/api/v2/dags/my%20dag/dagRuns/manual__2025-01-01T00%3A00%3A00%2B00%3A00/wait?interval=2&result=a&result=b",
  );
  assert.equal(kit.waitUrl("http://h/airflow", "d", "r", { result: [] }).href, "http://h/airflow/api/v2/dags/d/dagRuns/r/wait?interval=1&result=");
  assert.equal(kit.waitUrl("http://h/", "d", "r").search, "?interval=1");
});

test("gzip is decoded as it arrives: each line is judged before the server sends the next (CLIENT-GZIP-1)", async () => {
  let release;
  const judged = new Promise((resolve) => (release = resolve));
  let judgedInTime;
  const sendChunk = (socket, bytes) => socket.write(Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from("\r\n")]));
  const server = await startReplay(new Map([["/wait", async (socket) => {
    socket.write("HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n");
    const gzip = createGzip();
    const out = [];
    gzip.on("data", (data) => out.push(data));
    gzip.write('{"state": "running"}\n');
    await new Promise((resolve) => gzip.flush(zlibConstants.Z_SYNC_FLUSH, () => setImmediate(resolve)));
    sendChunk(socket, Buffer.concat(out.splice(0)));
    judgedInTime = await Promise.race([judged.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 3000))]);
    gzip.end('{"state": "success", "results": {"t": 1}}\n');
    await once(gzip, "end");
    sendChunk(socket, Buffer.concat(out.splice(0)));
    socket.end("0\r\n\r\n");
  }]]));
  try {
    const states = [];
    const result = await kit.waitForResult(server.url("/wait"), {
      onLine: (line) => {
        states.push(line.get("state"));
        if (line.get("state") === "running") release();
      },
    });
    assert.equal(kit.stringifyJson(result.lines.at(-1)), '{"state":"success","results":{"t":1}}');
    assert.deepEqual(states, ["running", "success"]);
    assert.equal(judgedInTime, true, "the running line was judged only once the whole body had come");
  } finally {
    await server.close();
  }
});

test("the request carries the bearer token and asks for gzip", async () => {
  const headers = await new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk;
        if (!text.includes("\r\n\r\n")) return;
        socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n14\r\n{"state": "success"}\r\n0\r\n\r\n');
        server.close();
        resolve(text.toLowerCase());
      });
    });
    server.listen(0, "127.0.0.1", () => {
      kit.waitForResult(`http://127.0.0.1:${server.address().port}/wait?interval=1`, { token: "tok" }).catch(reject);
    });
  });
  assert.match(headers, /^authorization: bearer tok\r$/m);
  assert.match(headers, /^accept-encoding: .*gzip/m);
});

test("parseJson keeps key order and big integers, and rejects what RFC 8259 does not allow", () => {
  const value = kit.parseJson('{"2": 0, "1": {"b": 1, "a": 2}, "big": -98765432109876543210, "s": "\\u2028\\ud83d\\ude00"}');
  assert.deepEqual([...value.keys()], ["2", "1", "big", "s"]);
  assert.deepEqual([...value.get("1").keys()], ["b", "a"]);
  assert.equal(value.get("big"), -98765432109876543210n);
  assert.equal(value.get("s"), "\u2028\u{1f600}");
  assert.equal(kit.stringifyJson(value), '{"2":0,"1":{"b":1,"a":2},"big":-98765432109876543210,"s":"\u2028\u{1f600}"}');
  for (const [text, why] of [
    ['{"a": {"b": 1, "b": 2}}', /^duplicate key "b" at column 16$/],
    ["\ufeff{}", /^unexpected character/],
    ['{"x": NaN}', /^unexpected character "N"/],
    ["[1, 2,]", /^unexpected character "]"/],
    ['{"a": 1} {"b": 2}', /^extra data after the JSON value/],
    ['"tab\tinside"', /^a control character inside a string must be escaped/],
    ["01", /^extra data/],
    ['{"a": 1', /^the text ended inside an object/],
  ]) {
    assert.throws(() => kit.parseJson(text), (error) => error instanceof kit.JsonSyntaxError && why.test(error.message), text);
  }
});

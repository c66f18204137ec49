#!/usr/bin/env node
/**
 * airflow-dag-result-wait [--token TOKEN] [--timeout SECONDS] URL
 *
 * GETs one /wait URL (query included: the last argument, or AIRFLOW_WAIT_URL when there is no
 * argument) and prints one JSON line on stdout, in ASCII: the stream's terminal line as
 * received, keys in wire order (keys other than state and results left out: CLIENT-LINE-3),
 * with exit code 0; or {"error": "<why>"} with exit code 1 when
 * the stream is rejected (an error status, an invalid or incomplete stream, a timeout). This is the contract of `python -m conformance clients`,
 * which runs any client that keeps it against the replayed fixtures. A usage error is one
 * sentence on stderr and exit code 4. The token may also come from AIRFLOW_TOKEN.
 */

import { parseArgs } from "node:util";

import { stringifyJson } from "./json.js";
import { StreamError } from "./stream.js";
import { waitForResult } from "./wait.js";

const USAGE_ERROR = 4;
const REJECTED = 1;

function usageError(sentence: string): never {
  process.stderr.write(`${sentence}\n`);
  process.exit(USAGE_ERROR);
}

function parseCommandLine(argv: string[]): { url: URL; token: string | undefined; timeout: number | undefined } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { token: { type: "string" }, timeout: { type: "string" } },
      allowPositionals: true,
    });
  } catch (error) {
    const problem = (error as Error).message.split(/\.(?:\s|$)/)[0]; // its first sentence
    usageError(`${problem}; usage: airflow-dag-result-wait [--token TOKEN] [--timeout SECONDS] URL`);
  }
  const { values } = parsed;
  const fromEnvironment = process.env["AIRFLOW_WAIT_URL"];
  const positionals = parsed.positionals.length === 0 && fromEnvironment ? [fromEnvironment] : parsed.positionals;
  if (positionals.length === 0) usageError("no URL given; pass the full /wait URL, query included, as the last argument.");
  if (positionals.length > 1) {
    usageError(`expected one URL as the last argument, got ${positionals.length} arguments; quote the URL if it holds spaces or &.`);
  }
  let url: URL;
  try {
    url = new URL(positionals[0]!);
  } catch {
    usageError(`${JSON.stringify(positionals[0])} is not a URL; pass the full /wait URL, e.g. http://host:8080/api/v2/dags/d/dagRuns/r/wait?interval=1.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    usageError(`${JSON.stringify(url.href)} is not an http(s) URL; pass the /wait URL of an Airflow API server.`);
  }
  let timeout: number | undefined;
  if (values.timeout !== undefined) {
    timeout = Number(values.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0) usageError(`--timeout ${values.timeout} is not a positive number of seconds; pass e.g. --timeout 120.`);
  }
  return { url, token: values.token ?? process.env["AIRFLOW_TOKEN"], timeout };
}

async function main(): Promise<void> {
  const { url, token, timeout } = parseCommandLine(process.argv.slice(2));
  try {
    const result = await waitForResult(url, { token, timeoutSeconds: timeout });
    // ASCII only: a raw U+2028 in a result would cut the line for readers that split on it
    process.stdout.write(`${stringifyJson(result.lines[result.lines.length - 1]!, { ascii: true })}\n`);
  } catch (error) {
    if (!(error instanceof StreamError)) throw error;
    process.stdout.write(`${stringifyJson(new Map([["error", error.message]]), { ascii: true })}\n`);
    process.exitCode = REJECTED;
  }
}

await main();

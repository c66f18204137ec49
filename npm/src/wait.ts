/**
 * Calling /wait over HTTP, and judging the stream as it arrives.
 *
 * The transport is node:http, not fetch: Node's fetch (undici) takes the end of a connection
 * for the end of a `Connection: close` response even in the middle of a chunked body, so a cut
 * stream that happens to end on a complete terminal line would pass for a whole one
 * (CLIENT-HTTP-3); node:http reports it. The request asks for gzip, and the body is gunzipped
 * as it comes (CLIENT-GZIP-1), so each decoded chunk is framed and judged at once by
 * StreamReader. Two clocks bound the call (CLIENT-TIMEOUT-1): a read timeout, restarted by
 * every chunk, that is the request's `interval` plus 30 s (the server sends a line at least
 * every interval, so longer silence means it or the network is stuck); and a deadline for the
 * whole call, since a run may take any time to finish.
 */

import { type IncomingMessage, STATUS_CODES, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { pipeline } from "node:stream";
import { constants as zlib, createGunzip } from "node:zlib";

import { type JsonObject, isJsonObject, parseJson, stringifyJson } from "./json.js";
import { LineFramer } from "./lines.js";
import { StreamError, StreamReader, type WaitResult, WaitTimeout, feedBytes } from "./stream.js";

/** Seconds of silence allowed beyond the interval before a read counts as stuck. */
export const READ_SLACK_SECONDS = 30;
const DEFAULT_TIMEOUT_SECONDS = 300;
const LONGEST_TIMER_MS = 2 ** 31 - 1; // setTimeout fires at once for anything longer

function after(seconds: number, then: () => void): ReturnType<typeof setTimeout> {
  return setTimeout(then, Math.min(seconds * 1000, LONGEST_TIMER_MS));
}

export interface WaitOptions {
  /** A bearer token, sent as `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Seconds the whole call may take (default 300). */
  timeoutSeconds?: number | undefined;
  /** Seconds without data before the server counts as stuck (default: readTimeoutSeconds(url)). */
  readTimeoutSeconds?: number | undefined;
  /** Extra request headers. */
  headers?: Record<string, string> | undefined;
  /** Called with each /wait line as it arrives, the terminal one included. */
  onLine?: ((line: JsonObject) => void) | undefined;
}

/**
 * The read timeout for a /wait URL: its `interval` (the last one, as the server reads it) plus
 * READ_SLACK_SECONDS. Infinity when the URL has no finite positive interval: then the server's
 * cadence is unknown (or, for interval=inf, unbounded) and only the deadline applies.
 */
export function readTimeoutSeconds(url: URL): number {
  const intervals = url.searchParams.getAll("interval");
  const interval = Number(intervals[intervals.length - 1]);
  return intervals.length > 0 && Number.isFinite(interval) && interval > 0 ? interval + READ_SLACK_SECONDS : Infinity;
}

/** Build a /wait URL: one `result` parameter per task id (CLIENT-REQUEST-1), ids percent-encoded. */
export function waitUrl(
  baseUrl: string,
  dagId: string,
  runId: string,
  { interval = 1, result }: { interval?: number; result?: readonly string[] | undefined } = {},
): URL {
  const path = `api/v2/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(runId)}/wait`;
  const url = new URL(path, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  url.searchParams.append("interval", String(interval));
  if (result !== undefined) {
    if (result.length === 0) url.searchParams.append("result", ""); // collect nothing
    for (const taskId of result) url.searchParams.append("result", taskId);
  }
  return url;
}

/**
 * The `detail` of an Airflow error body as one phrase (CLIENT-HTTP-1), else the body's start.
 * Members besides `detail` are ignored (CLIENT-LINE-3): a newer Airflow may add some.
 */
export function errorDetail(body: string): string {
  let detail;
  try {
    const parsed = parseJson(body);
    detail = isJsonObject(parsed) ? parsed.get("detail") : undefined;
  } catch {
    detail = undefined;
  }
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // 422: a list of request-validation errors, each with a location and a message
    return detail
      .map((item) => {
        if (!isJsonObject(item)) return stringifyJson(item);
        const loc = item.get("loc");
        return `${Array.isArray(loc) ? loc.map(String).join(".") : ""}: ${String(item.get("msg"))}`;
      })
      .join("; ");
  }
  if (detail !== undefined) return stringifyJson(detail);
  return body.length === 0 ? "(empty body)" : body.slice(0, 300);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = "code" in error && error.code !== undefined && !error.message.includes(String(error.code)) ? ` (${String(error.code)})` : "";
  return `${error.message}${code}`;
}

/** Send the GET; resolves once the status line and headers are in. */
function open(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    send(url, { headers, signal }, resolve).on("error", reject).end();
  });
}

/** The body as decoded bytes (CLIENT-GZIP-1): gunzipped as it arrives, errors of either passed on. */
function decodedBody(response: IncomingMessage): AsyncIterable<Uint8Array> {
  const encoding = (response.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding === "identity") return response;
  if (encoding !== "gzip") throw new StreamError(`the response is encoded as ${encoding}, which this client did not ask for`);
  // SYNC_FLUSH hands on each line as soon as its bytes are in; the final flush stays FINISH,
  // so a gzip stream without its trailer is an error rather than a quiet end.
  const gunzip = createGunzip({ flush: zlib.Z_SYNC_FLUSH });
  return pipeline(response, gunzip, () => {}); // errors surface through the iterator
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * GET a /wait URL and return the stream's terminal line, once the response has ended.
 *
 * Throws StreamError for an error status, a broken connection or an invalid stream, and
 * WaitTimeout (a StreamError) when the deadline passes or the server falls silent.
 */
export async function waitForResult(url: string | URL, options: WaitOptions = {}): Promise<WaitResult> {
  const target = new URL(url);
  const timeout = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const readTimeout = Math.min(options.readTimeoutSeconds ?? readTimeoutSeconds(target), timeout);
  const headers: Record<string, string> = { "Accept-Encoding": "gzip", ...options.headers };
  if (options.token !== undefined) headers["Authorization"] = `Bearer ${options.token}`;

  const reader = new StreamReader();
  const controller = new AbortController();
  let timedOut: string | undefined; // why a clock aborted the request
  const expire = (why: string) => {
    timedOut = why;
    controller.abort();
  };
  const deadline = after(timeout, () => {
    const state = reader.lastState === undefined ? "not reported yet" : `still ${reader.lastState}`;
    expire(`the run had not finished after ${timeout} s (its state was ${state})`);
  });
  let silence: ReturnType<typeof setTimeout> | undefined;
  const restartSilence = () => {
    clearTimeout(silence);
    if (Number.isFinite(readTimeout)) {
      silence = after(readTimeout, () => {
        const where = reader.lineNumber > 0 ? `after line ${reader.lineNumber}` : "before the first line";
        expire(`the server sent nothing for ${readTimeout} s ${where}`);
      });
    }
  };

  let response: IncomingMessage | undefined;
  try {
    restartSilence();
    response = await open(target, headers, controller.signal);
    const body = decodedBody(response);
    if (response.statusCode !== 200) {
      const status = response.statusCode ?? 0;
      const reason = response.statusMessage || STATUS_CODES[status] || "";
      throw new StreamError(`GET ${target.pathname} answered ${status} ${reason}: ${errorDetail(await readAll(body))}`);
    }
    const framer = new LineFramer();
    const feed = (line: Uint8Array) => {
      const before = reader.parsed.length;
      feedBytes(reader, line);
      if (reader.parsed.length > before) options.onLine?.(reader.parsed[before]!);
    };
    for await (const chunk of body) {
      restartSilence();
      for (const line of framer.feed(chunk)) feed(line);
    }
    const rest = framer.rest();
    if (rest.length > 0) feed(rest); // CLIENT-FRAMING-3: a last line without its newline
    return reader.finish();
  } catch (error) {
    if (timedOut !== undefined) throw new WaitTimeout(timedOut);
    if (error instanceof StreamError) throw error;
    if (response === undefined) throw new StreamError(`the connection failed before the response: ${describe(error)}`);
    // CLIENT-HTTP-3: the connection closed before the response's end, or the gzip stream broke off
    throw new StreamError(`the response broke off after line ${reader.lineNumber}: ${describe(error)}`);
  } finally {
    clearTimeout(deadline);
    clearTimeout(silence);
    response?.destroy(); // a rejected stream stops here: close the connection rather than read on
  }
}

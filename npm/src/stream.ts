/**
 * Judging a /wait body line by line: the rules of CLIENTS.md, one check each, in the order the
 * reference clients apply them (this one and conformance/clientkit/reference_client.py in Python).
 *
 * A stream is accepted only when it yields one complete, unambiguous answer: its terminal
 * (`success`/`failed`) line, with the `results` it carries, if any. Keys a line carries besides
 * `state` and `results` are ignored, so that a newer server may add some. Anything that would
 * make the client guess (a cut-off line, a duplicate key, `state` or `results` spelt in another
 * case, an error written into the 200 stream, a line after the terminal line, no terminal line
 * at all) raises StreamError.
 */

import { type JsonObject, type JsonValue, JsonSyntaxError, isJsonObject, isJsonWhitespace, parseJson, stringifyJson } from "./json.js";
import { LineFramer, decodeLine, splitLines } from "./lines.js";

export const POLL_STATES: ReadonlySet<string> = new Set(["queued", "running"]);
export const TERMINAL_STATES: ReadonlySet<string> = new Set(["success", "failed"]);
/** The keys a /wait line means something by; any other is ignored (CLIENT-LINE-3). */
const LINE_KEYS: ReadonlySet<string> = new Set(["state", "results"]);
// state or results in another case, the s also as U+017F (long s), which case folding makes s:
// keys a decoder that matches them without regard to case (Go's encoding/json) reads as the known ones
const KNOWN_KEY_IN_OTHER_CASE = /^(?:[Ss\u017f][Tt][Aa][Tt][Ee]|[Rr][Ee][Ss\u017f][Uu][Ll][Tt][Ss\u017f])$/u;
const TASK_ID = /^[A-Za-z0-9_.-]{1,250}$/; // schemas/wait-line.schema.json#/$defs/taskId

/** The /wait call did not yield one well-formed, complete answer; the message says why. */
export class StreamError extends Error {
  override name = "StreamError";
}

/** The run had not finished within the caller's deadline, or the server went silent. */
export class WaitTimeout extends StreamError {
  override name = "WaitTimeout";
}

export interface WaitResult {
  /** "success" or "failed". */
  state: string;
  /** The terminal line's results in wire order; undefined when it had no results key. */
  results: JsonObject | undefined;
  /** Every parsed line in order, the terminal one last; known keys only (CLIENT-LINE-3). */
  lines: JsonObject[];
}

/** The start of a line for a message, with invisible characters escaped. */
function snippet(text: string, limit = 60): string {
  const short = text.length <= limit ? text : `${text.slice(0, limit)}…`;
  return short.replace(/[^\x20-\x7e\u00a1-\u2027\u202a-\ufefe\uff00-\u{10ffff}]/gu, (char) => {
    const code = char.codePointAt(0)!;
    return code > 0xffff ? `\\U${code.toString(16).padStart(8, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** CLIENT-BLANK-1: empty, or nothing but spaces, tabs and carriage returns. */
function isBlank(text: string): boolean {
  for (const char of text) if (!isJsonWhitespace(char)) return false;
  return true;
}

/** Why a parsed line is not a valid /wait line (schemas/wait-line.schema.json, CLIENT-LINE-1), or undefined. */
function lineProblem(value: JsonObject): string | undefined {
  const state = value.get("state");
  if (typeof state !== "string" || !(POLL_STATES.has(state) || TERMINAL_STATES.has(state))) {
    return `state ${stringifyJson(state ?? null)} is not one of "queued", "running", "success", "failed"`;
  }
  if (!value.has("results")) return undefined;
  const results = value.get("results")!;
  if (!isJsonObject(results)) return "results is not an object";
  if (results.size === 0) return "results is empty (when nothing was collected the key is absent)";
  const badKey = [...results.keys()].find((key) => !TASK_ID.test(key));
  return badKey === undefined ? undefined : `results key ${JSON.stringify(badKey)} is not a task id`;
}

/** The line-by-line state machine behind parseStream: feed raw lines, then finish. */
export class StreamReader {
  /** 1-based number of the last raw line fed, blank lines included. */
  lineNumber = 0;
  readonly parsed: JsonObject[] = [];
  private terminal: JsonObject | undefined;

  get lastState(): string | undefined {
    const last = this.parsed[this.parsed.length - 1];
    return last === undefined ? undefined : (last.get("state") as string);
  }

  /** One raw line as received: its terminator included if it had one. */
  feed(raw: string): void {
    const n = ++this.lineNumber;
    let text = raw.endsWith("\n") ? raw.slice(0, -1) : raw;
    if (text.endsWith("\r")) text = text.slice(0, -1); // CLIENT-FRAMING-2: CRLF
    if (isBlank(text)) return; // CLIENT-BLANK-1
    if (this.terminal !== undefined) {
      // CLIENT-TERMINAL-1: the terminal line is the last word
      throw new StreamError(`line ${n}: a line after the terminal "${this.terminal.get("state")}" line (${snippet(text)})`);
    }
    let value: JsonValue;
    try {
      value = parseJson(text); // CLIENT-JSON-1, CLIENT-JSON-2
    } catch (error) {
      if (!(error instanceof JsonSyntaxError)) throw error;
      const cutOff = !raw.endsWith("\n") && error.position >= text.trimEnd().length;
      const why = cutOff ? "the stream ended inside this line, leaving incomplete JSON" : "not valid JSON";
      throw new StreamError(`line ${n}: ${why} (${error.message}): ${snippet(text)}`); // CLIENT-FRAMING-3
    }
    if (!isJsonObject(value)) throw new StreamError(`line ${n}: not a JSON object: ${snippet(text)}`); // CLIENT-LINE-1
    if (value.has("detail") && !value.has("state")) {
      // CLIENT-ERROR-1: the server failed after it had sent 200
      throw new StreamError(`line ${n}: the server reported an error mid-stream: ${snippet(stringifyJson(value.get("detail")!), 200)}`);
    }
    const collided = [...value.keys()].find((key) => !LINE_KEYS.has(key) && KNOWN_KEY_IN_OTHER_CASE.test(key));
    if (collided !== undefined) {
      // CLIENT-LINE-3: unknown keys are ignored, except one that is a known key in another case
      const known = collided.length === 5 ? "state" : "results";
      throw new StreamError(
        `line ${n}: key ${stringifyJson(collided, { ascii: true })} is "${known}" in another case, which a reader that ignores case takes for it: ${snippet(text)}`,
      );
    }
    if (!value.has("state")) throw new StreamError(`line ${n}: no state: ${snippet(text)}`);
    const state = value.get("state");
    if (typeof state === "string" && POLL_STATES.has(state) && value.has("results")) {
      throw new StreamError(`line ${n}: results on a non-terminal line (${snippet(text)})`); // CLIENT-LINE-2
    }
    const problem = lineProblem(value);
    if (problem !== undefined) throw new StreamError(`line ${n}: not a valid /wait line (${problem}): ${snippet(text)}`);
    // CLIENT-LINE-3: keys besides state and results are ignored, and not passed on
    const line: JsonObject = new Map([...value].filter(([key]) => LINE_KEYS.has(key)));
    this.parsed.push(line);
    if (TERMINAL_STATES.has(state as string)) this.terminal = line;
  }

  /** The answer, once the body has ended; CLIENT-TERMINAL-2 when it ended without one. */
  finish(): WaitResult {
    if (this.terminal === undefined) {
      if (this.parsed.length === 0) throw new StreamError("the stream was empty: it ended without a single non-blank line");
      throw new StreamError(
        `the stream ended while the run was still ${this.lastState} (after line ${this.lineNumber}), with no terminal line`,
      );
    }
    const results = this.terminal.get("results") as JsonObject | undefined;
    return { state: this.terminal.get("state") as string, results, lines: [...this.parsed] };
  }
}

/**
 * Check a whole /wait body, given as its raw lines (terminators kept), and return its terminal
 * line. It reads to the end even after the terminal line: anything there is an error.
 */
export function parseStream(lines: Iterable<string>): WaitResult {
  const reader = new StreamReader();
  for (const raw of lines) reader.feed(raw);
  return reader.finish();
}

/** parseStream for a whole body: text is split on line feeds only, bytes are decoded line by line. */
export function parseBody(body: string | Uint8Array): WaitResult {
  if (typeof body === "string") return parseStream(splitLines(body));
  const reader = new StreamReader();
  const framer = new LineFramer();
  for (const line of [...framer.feed(body), framer.rest()]) {
    if (line.length > 0) feedBytes(reader, line);
  }
  return reader.finish();
}

/** Decode one framed line and feed it; CLIENT-FRAMING-4 when it is not UTF-8. */
export function feedBytes(reader: StreamReader, line: Uint8Array): void {
  const text = decodeLine(line);
  if (text === undefined) throw new StreamError(`line ${reader.lineNumber + 1}: not valid UTF-8`);
  reader.feed(text);
}

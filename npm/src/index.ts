/**
 * The TypeScript reference client of the /wait stream, following CLIENTS.md rule by rule.
 *
 * parseStream / parseBody judge a body you already have; waitForResult calls /wait with fetch.
 * The package also ships the suite's JSON Schemas (`<package>/schemas/*`) and fixtures
 * (`<package>/fixtures/*`): recorded streams and the negative corpus.
 */

export { type JsonObject, type JsonValue, JsonSyntaxError, isJsonObject, parseJson, stringifyJson } from "./json.js";
export { LineFramer, decodeLine, splitLines } from "./lines.js";
export {
  POLL_STATES,
  StreamError,
  StreamReader,
  TERMINAL_STATES,
  type WaitResult,
  WaitTimeout,
  feedBytes,
  parseBody,
  parseStream,
} from "./stream.js";
export { READ_SLACK_SECONDS, type WaitOptions, errorDetail, readTimeoutSeconds, waitForResult, waitUrl } from "./wait.js";

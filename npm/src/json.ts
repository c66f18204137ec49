/**
 * JSON as RFC 8259 defines it, parsed so that nothing a /wait line says is lost or guessed
 * (CLIENTS.md, CLIENT-JSON-1 to CLIENT-JSON-3 and CLIENT-ORDER-1).
 *
 * `JSON.parse` falls short for a /wait client in three ways:
 *
 * - it lets the last of two equal keys win, where other parsers keep the first or fail, so a
 *   line with a duplicate key has no single meaning and must be rejected;
 * - it builds plain objects, and a plain object lists integer-like keys (`"2"`, `"10"`) first,
 *   in numeric order, whatever order the server sent them in: task ids and keys inside result
 *   values may be integer-like;
 * - it rounds integers beyond 2^53 to the nearest double.
 *
 * So this parser fails on a duplicate key, returns every object as a `Map` (whose iteration
 * order is the order on the wire), and returns integers outside the safe range as `bigint`.
 * `stringifyJson` writes such a value back out, compactly and in the same order.
 */

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

/** The text is not one JSON value; `position` is the 0-based index where parsing stopped. */
export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at column ${position + 1}`);
  }
}

const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const MAX_DEPTH = 1000; // deeper nesting is refused rather than left to overflow the stack

/** True for JSON's four whitespace characters: space, tab, line feed, carriage return. */
export function isJsonWhitespace(char: string): boolean {
  return char === " " || char === "\t" || char === "\n" || char === "\r";
}

class Parser {
  private at = 0;
  constructor(private readonly text: string) {}

  parseDocument(): JsonValue {
    this.skipWhitespace();
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.at < this.text.length) this.fail("extra data after the JSON value");
    return value;
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(message, this.at);
  }

  private skipWhitespace(): void {
    while (this.at < this.text.length && isJsonWhitespace(this.text[this.at]!)) this.at++;
  }

  private parseValue(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    const char = this.text[this.at];
    if (char === undefined) this.fail("the text ended where a value was expected");
    if (char === "{") return this.parseObject(depth);
    if (char === "[") return this.parseArray(depth);
    if (char === '"') return this.parseString();
    if (char === "-" || (char >= "0" && char <= "9")) return this.parseNumber();
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    // NaN, Infinity, unquoted words and anything else that is not JSON
    return this.fail(`unexpected character ${JSON.stringify(char)}`);
  }

  private parseObject(depth: number): JsonObject {
    const object: JsonObject = new Map();
    this.at++; // {
    this.skipWhitespace();
    if (this.text[this.at] === "}") {
      this.at++;
      return object;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.at] !== '"') this.fail("expected a key in double quotes");
      const keyAt = this.at;
      const key = this.parseString();
      if (object.has(key)) {
        this.at = keyAt;
        this.fail(`duplicate key ${JSON.stringify(key)}`);
      }
      this.skipWhitespace();
      if (this.text[this.at] !== ":") this.fail("expected ':' after a key");
      this.at++;
      this.skipWhitespace();
      object.set(key, this.parseValue(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.at++];
      if (next === "}") return object;
      if (next !== ",") {
        this.at--;
        this.fail(next === undefined ? "the text ended inside an object" : "expected ',' or '}'");
      }
    }
  }

  private parseArray(depth: number): JsonValue[] {
    const array: JsonValue[] = [];
    this.at++; // [
    this.skipWhitespace();
    if (this.text[this.at] === "]") {
      this.at++;
      return array;
    }
    for (;;) {
      this.skipWhitespace();
      array.push(this.parseValue(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.at++];
      if (next === "]") return array;
      if (next !== ",") {
        this.at--;
        this.fail(next === undefined ? "the text ended inside an array" : "expected ',' or ']'");
      }
    }
  }

  private parseString(): string {
    this.at++; // opening quote
    let out = "";
    let runStart = this.at;
    for (;;) {
      const code = this.text.charCodeAt(this.at);
      if (Number.isNaN(code)) this.fail("the text ended inside a string");
      if (code === 0x22) break; // closing quote
      if (code < 0x20) this.fail("a control character inside a string must be escaped");
      if (code !== 0x5c) {
        this.at++;
        continue;
      }
      out += this.text.slice(runStart, this.at);
      const escape = this.text[this.at + 1];
      if (escape === "u") {
        const hex = this.text.slice(this.at + 2, this.at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("\\u must be followed by four hex digits");
        out += String.fromCharCode(parseInt(hex, 16)); // surrogate pairs join up by themselves
        this.at += 6;
      } else if (escape !== undefined && escape in ESCAPES) {
        out += ESCAPES[escape];
        this.at += 2;
      } else {
        this.fail("invalid escape in a string");
      }
      runStart = this.at;
    }
    out += this.text.slice(runStart, this.at);
    this.at++; // closing quote
    return out;
  }

  private parseNumber(): number | bigint {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (match === null) this.fail("invalid number");
    this.at += match[0].length;
    const isInteger = match[1] === undefined && match[2] === undefined;
    const value = Number(match[0]);
    return isInteger && !Number.isSafeInteger(value) ? BigInt(match[0]) : value;
  }
}

/** Parse one JSON text strictly; throws JsonSyntaxError on anything RFC 8259 does not allow. */
export function parseJson(text: string): JsonValue {
  return new Parser(text).parseDocument();
}

/**
 * Compact JSON for a parsed value, keys in their original order. With `ascii`, every character
 * beyond U+007E is written as a \\u escape, so the text survives readers that split lines on
 * U+0085 or U+2028 (which JSON.stringify leaves raw) or that do not decode UTF-8.
 */
export function stringifyJson(value: JsonValue, { ascii = false }: { ascii?: boolean } = {}): string {
  const text = stringify(value);
  return ascii ? text.replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`) : text;
}

function stringify(value: JsonValue): string {
  if (value instanceof Map) {
    return `{${[...value].map(([key, item]) => `${JSON.stringify(key)}:${stringify(item)}`).join(",")}}`;
  }
  if (Array.isArray(value)) return `[${value.map(stringify).join(",")}]`;
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value);
}

/** True for a parsed JSON object (as opposed to an array, a string, a number, ...). */
export function isJsonObject(value: JsonValue): value is JsonObject {
  return value instanceof Map;
}

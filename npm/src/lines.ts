/**
 * Framing a /wait body into lines (CLIENTS.md, CLIENT-FRAMING-1 to CLIENT-FRAMING-3).
 *
 * Lines end at a line feed (byte 0x0A) and nowhere else. Generic line readers also break on a
 * lone carriage return, U+0085, U+2028 or U+2029, which JSON allows unescaped inside strings,
 * so they can cut a valid result value in two. A line feed never occurs inside a multi-byte
 * UTF-8 character, so each complete line is decoded on its own, and invalid UTF-8 is an error
 * rather than a replacement character.
 */

/** Cuts a byte stream into lines on 0x0A only, terminators kept, searching each byte once. */
export class LineFramer {
  private pending: Uint8Array[] = [];

  /** The lines this chunk completes, each ending in 0x0A. */
  feed(chunk: Uint8Array): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
      this.pending.push(chunk.subarray(start, end + 1));
      lines.push(concat(this.pending));
      this.pending = [];
      start = end + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.slice(start)); // a copy: the caller may reuse its buffer
    return lines;
  }

  /** What followed the last line feed (an unterminated last line, maybe empty), emptying the framer. */
  rest(): Uint8Array {
    const rest = concat(this.pending);
    this.pending = [];
    return rest;
  }
}

function concat(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!.slice();
  const out = new Uint8Array(pieces.reduce((size, piece) => size + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

// fatal: invalid UTF-8 throws instead of becoming U+FFFD; ignoreBOM: a byte order mark is kept,
// so that it reaches the JSON parser, which rejects it (CLIENT-FRAMING-4), instead of vanishing.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** One line's bytes as text; undefined when they are not valid UTF-8. */
export function decodeLine(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A body's text split after each line feed, terminators kept; a last line without one is kept too. */
export function splitLines(body: string): string[] {
  const parts = body.split("\n");
  const lines = parts.slice(0, -1).map((part) => part + "\n");
  const last = parts[parts.length - 1]!;
  return last === "" ? lines : [...lines, last];
}

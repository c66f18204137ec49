// A raw HTTP/1.1 server that sends fixture responses exactly as described, byte for byte and
// chunk by chunk, so that the client is judged over real HTTP: negative cases with their
// status, chunk_sizes, content_encoding and cut, and recorded transcripts gzipped when their
// wire says so. Written on node:net rather than node:http because a cut (closing without the
// chunked body's last chunk, or inside a chunk) is exactly what node:http will not send.
import { createServer } from "node:net";
import { gzipSync } from "node:zlib";

const REASONS = { 200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity" };
// The fields of a negative case this server knows how to send; any other is a new kind of case.
export const NEGATIVE_FIELDS = new Set([
  "id", "description", "body", "body_base64", "status", "headers", "content_encoding", "chunk_sizes", "cut",
  "verdict", "robust_client", "expect",
]);

/** How to send one negative case (a plain object from JSON.parse). */
export function negativeResponse(testCase) {
  const unknown = Object.keys(testCase).filter((key) => !NEGATIVE_FIELDS.has(key));
  if (unknown.length > 0) throw new Error(`case ${testCase.id} has fields the replay does not know: ${unknown.join(", ")}`);
  const bytes = testCase.body_base64 !== undefined ? Buffer.from(testCase.body_base64, "base64") : Buffer.from(testCase.body, "utf8");
  return {
    status: testCase.status ?? 200,
    headers: testCase.headers ?? [],
    bytes,
    contentEncoding: testCase.content_encoding,
    chunkSizes: testCase.chunk_sizes ?? (testCase.content_encoding ? [bytes.length] : undefined),
    cut: testCase.cut,
  };
}

/** How to send one recorded transcript: its body, re-encoded as it travelled. */
export function recordedResponse(transcript) {
  const { status, headers, body, wire } = transcript.response;
  const gzip = wire ? wire.content_encoding === "gzip" : headers.some(([name, value]) => name === "content-encoding" && value === "gzip");
  const plain = Buffer.from(body, "utf8");
  const kept = headers.filter(([name]) => !["content-encoding", "transfer-encoding", "content-length"].includes(name));
  return gzip
    ? { status, headers: kept, bytes: gzipSync(plain), contentEncoding: "gzip", chunkSizes: undefined, cut: undefined }
    : { status, headers: kept, bytes: plain, contentEncoding: undefined, chunkSizes: undefined, cut: undefined };
}

/** The body cut into chunks: as given, else one per line (a compressed body: one chunk). */
function chunksOf(response) {
  const { bytes, chunkSizes, contentEncoding } = response;
  if (chunkSizes === undefined && contentEncoding !== undefined) return [bytes];
  const chunks = [];
  if (chunkSizes !== undefined) {
    let at = 0;
    for (const size of chunkSizes) chunks.push(bytes.subarray(at, (at += size)));
    if (at !== bytes.length) throw new Error(`chunk_sizes add up to ${at}, the body has ${bytes.length} bytes`);
    return chunks;
  }
  for (let start = 0; start < bytes.length; ) {
    const end = bytes.indexOf(0x0a, start);
    const stop = end < 0 ? bytes.length : end + 1;
    chunks.push(bytes.subarray(start, stop));
    start = stop;
  }
  return chunks;
}

function send(socket, response) {
  const head = [`HTTP/1.1 ${response.status} ${REASONS[response.status] ?? "Status"}`];
  for (const [name, value] of response.headers) head.push(`${name}: ${value}`);
  head.push("connection: close");
  if (response.status !== 200) {
    head.push(`content-length: ${response.bytes.length}`);
    socket.end(Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`), response.bytes]));
    return;
  }
  if (response.contentEncoding !== undefined) head.push(`content-encoding: ${response.contentEncoding}`);
  head.push("transfer-encoding: chunked");
  const parts = [Buffer.from(`${head.join("\r\n")}\r\n\r\n`)];
  const chunks = chunksOf(response).filter((chunk) => chunk.length > 0);
  chunks.forEach((chunk, index) => {
    const last = index === chunks.length - 1;
    const announced = last && response.cut === "mid-chunk" ? chunk.length + 16 : chunk.length;
    parts.push(Buffer.from(`${announced.toString(16)}\r\n`), chunk);
    if (!(last && response.cut === "mid-chunk")) parts.push(Buffer.from("\r\n"));
  });
  if (response.cut === undefined) parts.push(Buffer.from("0\r\n\r\n"));
  socket.end(Buffer.concat(parts)); // a cut: the connection closes where the bytes stop
}

/**
 * Serve `routes` (a Map from path to response, or to a function (socket) => void for custom
 * behaviour) on a loopback port. Resolves to { url(path), close() }.
 */
export async function startReplay(routes) {
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {}); // the client may hang up first (a rejected stream)
    let received = "";
    socket.on("data", (data) => {
      if (received.includes("\r\n\r\n")) return;
      received += data.toString("latin1");
      if (!received.includes("\r\n\r\n")) return;
      const target = received.split(" ")[1] ?? "/";
      const route = routes.get(new URL(target, "http://replay").pathname);
      if (route === undefined) send(socket, { status: 404, headers: [], bytes: Buffer.from('{"detail":"no such replay route"}') });
      else if (typeof route === "function") route(socket);
      else send(socket, route);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: (path, query = "interval=1") => `http://127.0.0.1:${port}${path}?${query}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  };
}

/**
 * A client stream of bytes whose opening message may also carry the call's options (WriteBlob,
 * Import, Load): the opening message (undefined when the client sent none), and every message's
 * bytes, the opening one's first.
 */
export async function openUpload<M extends { data: Uint8Array }>(messages: AsyncIterable<M>): Promise<{ opening: M | undefined; data: AsyncIterable<Uint8Array> }> {
  const iterator = messages[Symbol.asyncIterator]();
  const first = await iterator.next();
  const opening = first.done ? undefined : first.value;
  async function* data() {
    if (opening === undefined) return;
    yield opening.data;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value.data;
  }
  return { opening, data: data() };
}

/** About the size of one message of a byte stream: large enough that per-message costs stay small. */
export const MESSAGE_BYTES = 256 * 1024;

/**
 * A byte stream in pieces of at least MESSAGE_BYTES (the last one smaller): a tar comes in pieces of
 * one header or one small file each, and a gRPC message per piece costs more than the piece.
 */
export async function* inMessages(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= MESSAGE_BYTES) {
      yield Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

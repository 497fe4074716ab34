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

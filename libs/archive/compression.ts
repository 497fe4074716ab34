/** The compression an archive's first bytes show (gzip, bzip2, xz), or undefined for none of them. */
export function compressionOf(head: Uint8Array): 'gzip' | 'bzip2' | 'xz' | undefined {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (bytes.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (bytes.subarray(0, 6).equals(XZ_MAGIC)) return 'xz';
  return undefined;
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

export { ContentStore, type WriteResult, type WriteOptions } from './store';
export { Leases } from './leases';
export { assertDigest, isDigest, sha256Digest } from './digest';

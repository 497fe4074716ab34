/**
 * The generated API (ts-proto, from proto/ at build time), one namespace per package, and the path of
 * the descriptor set that server reflection serves.
 */
import { join } from 'node:path';

export * as types from './gen/berth/types/v1/types';
export * as events from './gen/berth/events/v1/events';
export * as imagestore from './gen/berth/imagestore/v1/imagestore';
export * as builder from './gen/berth/builder/v1/builder';
export * as runtime from './gen/berth/runtime/v1/runtime';
export * as network from './gen/berth/runtime/v1/network';
export * as node from './gen/berth/runtime/v1/node';
export * as volume from './gen/berth/volume/v1/volume';
export * as health from './gen/health/v1/health';
export { Duration } from './gen/google/protobuf/duration';

/** Written by the build (`buf build`): every Berth proto file and its imports. */
export function descriptorSetPath(): string {
  return join(__dirname, '..', '..', 'proto', 'berth.binpb');
}

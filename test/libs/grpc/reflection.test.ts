import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { repoRoot } from '../../support';
import { VOLUME_SERVICE, answerAtOnce, startVolumeServer } from './fixture';

/** The messages of grpc.reflection.v1, as proto-loader decodes them (keepCase, oneofs). */
interface ReflectionRequest {
  list_services?: string;
  file_containing_symbol?: string;
}

interface ReflectionResponse {
  message_response: 'list_services_response' | 'file_descriptor_response' | 'error_response';
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

const REFLECTION_PROTO = join(repoRoot(), 'node_modules', '@grpc', 'reflection', 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');

function reflectionMethod(): MethodDefinition<ReflectionRequest, ReflectionResponse> {
  const definition = loadSync(REFLECTION_PROTO, { keepCase: true, oneofs: true, defaults: false });
  const service = definition['grpc.reflection.v1.ServerReflection'] as Record<string, MethodDefinition<ReflectionRequest, ReflectionResponse>>;
  return service.ServerReflectionInfo!;
}

/** Sends the requests over one ServerReflectionInfo stream, as grpcurl does, and collects the answers. */
async function reflect(t: TestContext, target: string, requests: ReflectionRequest[]): Promise<ReflectionResponse[]> {
  const method = reflectionMethod();
  const client = new Client(target, credentials.createInsecure());
  t.after(() => client.close());
  const stream: ClientDuplexStream<ReflectionRequest, ReflectionResponse> = client.makeBidiStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    { deadline: Date.now() + 5_000 },
  );
  const responses: ReflectionResponse[] = [];
  stream.on('data', (response: ReflectionResponse) => responses.push(response));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  for (const request of requests) stream.write(request);
  stream.end();
  await ended;
  return responses;
}

test('reflection lists the registered service and serves its file descriptor', async (t) => {
  const { target } = await startVolumeServer(t, answerAtOnce);
  const [listed, file, unknown] = await reflect(t, target, [
    { list_services: '' },
    { file_containing_symbol: VOLUME_SERVICE },
    { file_containing_symbol: 'berth.nothing.v1.Nothing' },
  ]);

  assert.equal(listed?.message_response, 'list_services_response');
  assert.deepEqual(listed.list_services_response?.service.map((s) => s.name), [VOLUME_SERVICE]);

  assert.equal(file?.message_response, 'file_descriptor_response');
  const files = file.file_descriptor_response!.file_descriptor_proto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
  const volumeFile = files.find((f) => f.name === 'berth/volume/v1/volume.proto');
  assert.ok(volumeFile, `the volume file is among ${files.map((f) => f.name).join(', ')}`);
  assert.equal(volumeFile.package, 'berth.volume.v1');
  assert.ok(volumeFile.service.some((s) => s.name === 'VolumeService' && s.method.some((m) => m.name === 'Info')));

  assert.equal(unknown?.message_response, 'error_response');
  assert.equal(unknown.error_response?.error_code, 5, 'NOT_FOUND');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { BerthError, isBerthError, notFound, type ErrorKind } from '../../../libs/errors';
import { SERVICE_INFO, callInfo, rawInfoStatus, startVolumeServer, type InfoHandler } from './fixture';

const CODE_OF_KIND: Record<ErrorKind, status> = {
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  invalid_argument: status.INVALID_ARGUMENT,
  failed_precondition: status.FAILED_PRECONDITION,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  cancelled: status.CANCELLED,
  permission_denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  internal: status.INTERNAL,
};

/** An Info handler that throws whatever the test puts in `next`. */
function throwing(): { handler: InfoHandler; next: { error: unknown } } {
  const next: { error: unknown } = { error: new Error('unset') };
  return {
    next,
    handler: async () => {
      throw next.error;
    },
  };
}

test('every BerthError kind crosses the wire as its status code with its sentence, and comes back as that kind', async (t) => {
  const { handler, next } = throwing();
  const { target } = await startVolumeServer(t, handler);
  for (const [kind, code] of Object.entries(CODE_OF_KIND) as Array<[ErrorKind, status]>) {
    const sentence = `the ${kind.replaceAll('_', ' ')} sentence a person can act on`;
    next.error = new BerthError(kind, sentence);

    const raw = await rawInfoStatus(target);
    assert.equal(raw?.code, code, `${kind}: status code`);
    assert.equal(raw.details, sentence, `${kind}: status details`);

    await assert.rejects(callInfo(target), (err: unknown) => {
      assert.ok(isBerthError(err, kind), `${kind}: came back as ${String(err)}`);
      assert.equal(err.remote, true);
      // A deadline says whose answer was late; every other kind keeps the server's sentence as it is.
      if (kind === 'deadline_exceeded') assert.ok(err.message.endsWith(sentence), err.message);
      else assert.equal(err.message, sentence);
      return true;
    });
  }
});

test('an unexpected error is INTERNAL without its text on the wire, and logged with its stack', async (t) => {
  const { handler, next } = throwing();
  const { target, logs } = await startVolumeServer(t, handler);
  next.error = new TypeError("Cannot read properties of undefined (reading 'secretToken')");

  const raw = await rawInfoStatus(target);
  assert.equal(raw?.code, status.INTERNAL);
  assert.doesNotMatch(raw.details, /secretToken|Cannot read|TypeError/);
  assert.match(raw.details, /^internal error: see the service log/);

  await assert.rejects(callInfo(target), (err: unknown) => {
    assert.ok(isBerthError(err, 'internal'), String(err));
    assert.doesNotMatch(err.message, /secretToken|Cannot read|TypeError/);
    return true;
  });

  const logged = logs().filter((line) => line.level === 'error');
  assert.equal(logged.length, 2, 'each failed call is logged once');
  for (const line of logged) {
    assert.equal(line.rpc, '/berth.volume.v1.VolumeService/Info');
    assert.equal(line.code, status.INTERNAL);
    const err = line.err as { type: string; message: string; stack: string };
    assert.equal(err.type, 'TypeError');
    assert.match(err.stack, /^TypeError: Cannot read properties of undefined \(reading 'secretToken'\)\n\s+at /);
  }
});

test('a BerthError is logged as a failed call, without a stack', async (t) => {
  const { handler, next } = throwing();
  const { target, logs } = await startVolumeServer(t, handler);
  next.error = notFound('volume "data" does not exist');
  await assert.rejects(callInfo(target), (err: unknown) => isBerthError(err, 'not_found'));
  const line = logs().find((l) => l.rpc === '/berth.volume.v1.VolumeService/Info');
  assert.equal(line?.level, 'info');
  assert.equal(line.code, status.NOT_FOUND);
  assert.equal(line.error, 'volume "data" does not exist');
  assert.equal(line.err, undefined);
});

test('a handler that throws before returning its promise is answered like one that rejects', async (t) => {
  const { target, logs } = await startVolumeServer(t, (request) => {
    // Validation before the first await, in a function that is not async: it throws synchronously.
    if (Object.keys(request).length === 0) throw notFound('volume "data" does not exist');
    return Promise.resolve(SERVICE_INFO);
  });
  const raw = await rawInfoStatus(target);
  assert.equal(raw?.code, status.NOT_FOUND);
  assert.equal(raw.details, 'volume "data" does not exist');
  assert.ok(logs().some((line) => line.rpc === '/berth.volume.v1.VolumeService/Info' && line.code === status.NOT_FOUND));
});

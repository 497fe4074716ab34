import { startTelemetry } from '../../libs/telemetry';
import { VERSION } from '../../libs/version';

const telemetry = startTelemetry('builder', VERSION);
// Loaded only now, so that grpc-js and pg load after the instrumentations that patch them.
void import('./service.js').then(({ main }) => main(telemetry));

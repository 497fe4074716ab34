import { startTelemetry } from '../../libs/telemetry';
import { VERSION } from '../../libs/version';

const telemetry = startTelemetry('docker-api', VERSION);
// Loaded only now, so that grpc-js loads after the instrumentations that patch it.
void import('./service.js').then(({ main }) => main(telemetry));

export { serve, type ServeOptions, type RunningServer, type ServiceRegistration } from './server';
export { handlers, type CallContext } from './handlers';
export { inMessages, openUpload } from './uploads';
export { createClient, unaryCall, checkHealth, defaultDeadline, type ClientOptions, type HealthStatus } from './client';
export { toStatus, fromServiceError } from './status';
export { serverCredentials, channelCredentials, isUnixAddress, type TlsFiles } from './credentials';
export { CallForwarder, FORWARDED_BY, isForwarded, peekFirst } from './forward';

export { configSchema, SERVICE_NAMES, ENVIRONMENT, type Config, type ServiceName } from './schema';
export { loadConfig, ConfigError, DEFAULT_CONFIG_FILE } from './load';
export {
  socketPath,
  listenAddresses,
  metricsAddress,
  serviceEndpoint,
  embeddedPaths,
  postgresUrl,
  natsConnection,
  redactUrl,
} from './paths';

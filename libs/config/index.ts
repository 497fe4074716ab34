export { configSchema, SERVICE_NAMES, ENVIRONMENT, type Config, type ServiceName } from './schema';
export { loadConfig, ConfigError, DEFAULT_CONFIG_FILE } from './load';
export {
  socketPath,
  dockerSocketPath,
  listenAddresses,
  agentAdvertiseAddress,
  metricsAddress,
  serviceEndpoint,
  embeddedPaths,
  postgresUrl,
  natsConnection,
  redactUrl,
} from './paths';

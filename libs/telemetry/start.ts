import { createServer, type Server } from 'node:http';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface Telemetry {
  /** Serves the metrics for Prometheus at http://LISTEN/metrics; the server stops with shutdown(). */
  serveMetrics(listen: string): Promise<void>;
  /** Flushes and stops the exporters. */
  shutdown(): Promise<void>;
}

/**
 * Sets up OpenTelemetry for a service: a tracer provider that always records spans (so that every log
 * line carries a trace id), W3C trace-context propagation, and the grpc-js and pg instrumentations.
 * Traces and metrics leave the process only when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP), or
 * when a Prometheus endpoint is served (serveMetrics, once the config names one).
 *
 * Must run before @grpc/grpc-js or pg is first required: the instrumentations patch them on load.
 */
export function startTelemetry(serviceName: string, version: string): Telemetry {
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName, [ATTR_SERVICE_VERSION]: version });
  const exporting = (process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '') !== '';

  const spanProcessors: SpanProcessor[] = exporting ? [new BatchSpanProcessor(new OTLPTraceExporter())] : [];
  const tracerProvider = new NodeTracerProvider({ resource, spanProcessors });
  tracerProvider.register();

  // Metrics are always recorded (cheaply, in memory): Prometheus reads them when it scrapes.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({
    resource,
    readers: [prometheus, ...(exporting ? [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter() })] : [])],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  let metricsServer: Server | undefined;

  const unregister = registerInstrumentations({
    instrumentations: [new GrpcInstrumentation(), new PgInstrumentation({ requireParentSpan: true })],
  });

  return {
    async serveMetrics(listen) {
      const separator = listen.lastIndexOf(':');
      const server = createServer((request, response) => {
        if (request.url?.split('?')[0] === '/metrics') prometheus.getMetricsRequestHandler(request, response);
        else response.writeHead(404).end('only /metrics is served here\n');
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(listen.slice(separator + 1)), listen.slice(0, separator).replace(/^\[|\]$/g, ''), () => resolve());
      });
      metricsServer = server;
    },
    async shutdown() {
      unregister();
      metricsServer?.close();
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

import { metrics } from '@opentelemetry/api';
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
  /** Flushes and stops the exporters. */
  shutdown(): Promise<void>;
}

/**
 * Sets up OpenTelemetry for a service: a tracer provider that always records spans (so that every log
 * line carries a trace id), W3C trace-context propagation, and the grpc-js and pg instrumentations.
 * Traces and metrics leave the process only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 *
 * Must run before @grpc/grpc-js or pg is first required: the instrumentations patch them on load.
 */
export function startTelemetry(serviceName: string, version: string): Telemetry {
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName, [ATTR_SERVICE_VERSION]: version });
  const exporting = (process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '') !== '';

  const spanProcessors: SpanProcessor[] = exporting ? [new BatchSpanProcessor(new OTLPTraceExporter())] : [];
  const tracerProvider = new NodeTracerProvider({ resource, spanProcessors });
  tracerProvider.register();

  let meterProvider: MeterProvider | undefined;
  if (exporting) {
    meterProvider = new MeterProvider({
      resource,
      readers: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter() })],
    });
    metrics.setGlobalMeterProvider(meterProvider);
  }

  const unregister = registerInstrumentations({
    instrumentations: [new GrpcInstrumentation(), new PgInstrumentation({ requireParentSpan: true })],
  });

  return {
    async shutdown() {
      unregister();
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider?.shutdown()]);
    },
  };
}

/**
 * OpenTelemetry plumbing for the trace sink: the tracer provider with our resource, ids preset
 * per span, a BatchSpanProcessor bounded by our own queue bound, and the OTLP/HTTP exporter
 * wrapped so that what it did with each batch is counted.
 */
import { hostname } from 'node:os';
import type { Tracer } from '@opentelemetry/api';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type IdGenerator,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { TraceCounters } from './trace-metrics.js';
import type { OtlpTransport } from './otlp-transport.js';

/**
 * The SDK draws every id from the provider's IdGenerator (Tracer.startSpan: generateSpanId(),
 * then generateTraceId() for a root). Our ids depend on the observation, so the generator hands
 * out the ids set on it just before each startSpan — startSpan is synchronous, nothing can run in
 * between. Children get the trace id from their parent in the context, as usual.
 */
export class PresetIdGenerator implements IdGenerator {
  nextTraceId = '';
  nextSpanId = '';
  generateTraceId(): string {
    return this.nextTraceId;
  }
  generateSpanId(): string {
    return this.nextSpanId;
  }
}

/** Counts what the OTLP exporter did with each batch; everything else is the exporter's own. */
export class CountingExporter implements SpanExporter {
  /** Spans started and not yet answered by the collector (the sink adds when it starts them). */
  inFlight = 0;
  constructor(
    private readonly inner: SpanExporter,
    private readonly counters: TraceCounters,
    private readonly onError: (error: Error | undefined, spans: number) => void,
  ) {}

  export(spans: ReadableSpan[], resultCallback: Parameters<SpanExporter['export']>[1]): void {
    const n = spans.length;
    this.inner.export(spans, (result) => {
      this.inFlight -= n;
      // ExportResultCode.SUCCESS (0): the enum lives in @opentelemetry/core, not a dependency of ours.
      if (Number(result.code) === 0) this.counters.spansExported += n;
      else {
        this.counters.exportErrors++;
        this.counters.spansDropped.export_failed += n;
        this.onError(result.error, n);
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export interface TracePipelineOptions {
  relay: string;
  transport: OtlpTransport;
  counters: TraceCounters;
  maxQueuedSpans: number;
  maxExportBatchSize: number;
  scheduledDelayMs: number;
  onExportError: (error: Error | undefined, spans: number) => void;
}

export interface TracePipeline {
  provider: BasicTracerProvider;
  tracer: Tracer;
  ids: PresetIdGenerator;
  exporter: CountingExporter;
}

/** Provider → batch processor → counting wrapper → OTLP/HTTP exporter, for one relay. */
export function createTracePipeline(o: TracePipelineOptions): TracePipeline {
  // service.name: the relay unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say otherwise
  // (the env detector's attributes win the merge).
  const host = hostname();
  const resource = resourceFromAttributes({
    'service.name': o.relay,
    'service.instance.id': `${o.relay}@${host}`,
    'host.name': host,
  }).merge(detectResources({ detectors: [envDetector] }));

  // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, CA, timeout, compression) itself;
  // the transport adds only an explicit endpoint, the config file's CA and headers.
  // A flush hands every queued batch to the exporter at once; let it take them all (memory is
  // bounded by maxQueuedSpans either way) instead of failing the ones past its default limit of 30.
  const batch = Math.min(o.maxExportBatchSize, o.maxQueuedSpans);
  const concurrencyLimit = Math.max(30, Math.ceil(o.maxQueuedSpans / batch) + 2);
  const otlp = new OTLPTraceExporter({ ...o.transport.exporterConfig, concurrencyLimit });
  const exporter = new CountingExporter(otlp, o.counters, o.onExportError);
  const ids = new PresetIdGenerator();
  const provider = new BasicTracerProvider({
    resource,
    // Sampling is decided per turn before any span is made: every span started is exported.
    sampler: new AlwaysOnSampler(),
    idGenerator: ids,
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        // One more than our own bound, so the processor never drops a span we did not count.
        maxQueueSize: o.maxQueuedSpans + 1,
        maxExportBatchSize: batch,
        scheduledDelayMillis: o.scheduledDelayMs,
      }),
    ],
  });
  return { provider, tracer: provider.getTracer('pollscope'), ids, exporter };
}

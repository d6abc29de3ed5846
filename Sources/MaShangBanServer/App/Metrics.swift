import CoreMetrics
import Prometheus

/// The process-wide Prometheus registry behind swift-metrics, bootstrapped once (swift-metrics
/// allows one bootstrap per process; tests build many applications).
enum MetricsBootstrap {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}

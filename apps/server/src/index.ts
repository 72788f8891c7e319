/**
 * @kmm/server: the kmm daemon as a service. An HTTP control API (OpenAPI at
 * `/openapi.json`), Prometheus metrics at `/metrics`, server-sent events at
 * `/api/events` and a live dashboard at `/`. `kmm serve` runs it.
 *
 * @since 0.1.0
 */
export * as Api from "./Api.js"
export * as Auth from "./Auth.js"
export * as Control from "./Control.js"
export * as Dashboard from "./Dashboard.js"
export * as Events from "./Events.js"
export * as Handlers from "./Handlers.js"
export * as Limits from "./Limits.js"
export * as Metrics from "./Metrics.js"
export * as Samples from "./Samples.js"
export * as Server from "./Server.js"
export * as Settings from "./Settings.js"

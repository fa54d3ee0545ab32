//! Benchmark programs. `raw-client` is the baseline: plain librdkafka through rdkafka with the
//! worker's producer settings, so a ratio against it shows what the worker itself costs.

#pragma once
// Metrics: a small Prometheus registry (counters, gauges, histograms, each a family with fixed label names)
// and its text exposition, format 0.0.4. No external library: the exposition is a few lines of text, and a
// dependency on a client library would pull threads and HTTP servers into core/.
//
//   MetricsRegistry registry;
//   auto& requests = registry.counter("aadpodidentity_arm_requests_total", "ARM requests.", {"operation"});
//   requests.with({"vmss_get"}).inc();
//   std::string text = registry.expose();
//
// Families are registered once (registering a name again returns the same family if kind and labels match,
// else an error); children are created on first use of a label set and live as long as the registry, so
// references to them may be kept. A family without labels exposes its single child from the start (as 0).
//
// Thread-safety: everything may be called from any thread (families and children are guarded; values are
// atomics). Lifetime: references returned stay valid until the registry is destroyed.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace podid::core {

class Counter {
 public:
  void inc(double by = 1) noexcept;  // negative amounts are ignored: a counter only goes up
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1) noexcept { value_.fetch_sub(by, std::memory_order_relaxed); }
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // sorted, without +Inf
  void observe(double v);
  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum{0};
    std::uint64_t count{0};
  };
  [[nodiscard]] Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative), the last one is +Inf
  double sum_{0};
  std::uint64_t count_{0};
};

enum class MetricKind { counter, gauge, histogram };

// One metric name with its help text and label names; children by label values.
template <class T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> buckets = {});
  // The child for these label values (one per label name; missing values count as "").
  T& with(const std::vector<std::string>& values);
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& help() const noexcept { return help_; }
  [[nodiscard]] const std::vector<std::string>& labels() const noexcept { return labels_; }
  // Visits every child in label order under the family's lock.
  template <class F>
  void each(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, child] : children_) f(values, *child);
  }

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> buckets_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Returns the family, registering it on first use. A second registration with another kind or other
  // label names is a programming error: it throws std::logic_error (names are constants in the code).
  CounterFamily& counter(std::string_view name, std::string_view help, std::vector<std::string> labels = {});
  GaugeFamily& gauge(std::string_view name, std::string_view help, std::vector<std::string> labels = {});
  HistogramFamily& histogram(std::string_view name, std::string_view help, std::vector<double> buckets,
                             std::vector<std::string> labels = {});

  // Prometheus text format 0.0.4, families in name order.
  [[nodiscard]] std::string expose() const;

 private:
  struct Entry {
    MetricKind kind;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
  };
  Entry& entry(std::string_view name, MetricKind kind, const std::vector<std::string>& labels);

  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> families_;
};

// Text-format helpers, exposed for tests: label values escape \ " and newline; help text \ and newline;
// numbers print as Go's strconv would (shortest round-trip, +Inf, -Inf, NaN).
[[nodiscard]] std::string escape_label_value(std::string_view v);
[[nodiscard]] std::string escape_help(std::string_view v);
[[nodiscard]] std::string format_number(double v);

// Buckets of durations in seconds, from 5 ms to 20 min.
[[nodiscard]] std::vector<double> duration_buckets();

}  // namespace podid::core

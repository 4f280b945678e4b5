#include "core/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace podid::core {

void Counter::inc(double by) noexcept {
  if (by > 0) value_.fetch_add(by, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  std::erase_if(bounds_, [](double b) { return std::isinf(b) || std::isnan(b); });
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double v) {
  // Buckets are "less than or equal": v lands in the first bound >= v.
  const auto at =
      static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  std::lock_guard lock(mutex_);
  ++counts_[at];
  sum_ += v;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot s{bounds_, {}, sum_, count_};
  std::uint64_t running = 0;
  for (const auto c : counts_) s.cumulative.push_back(running += c);
  return s;
}

template <class T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> labels,
                  std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)),
      buckets_(std::move(buckets)) {
  if (labels_.empty()) with({});
}

template <class T>
T& Family<T>::with(const std::vector<std::string>& values) {
  std::vector<std::string> key = values;
  key.resize(labels_.size());
  std::lock_guard lock(mutex_);
  auto& child = children_[std::move(key)];
  if (!child) {
    if constexpr (std::is_same_v<T, Histogram>)
      child = std::make_unique<Histogram>(buckets_);
    else
      child = std::make_unique<T>();
  }
  return *child;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

MetricsRegistry::Entry& MetricsRegistry::entry(std::string_view name, MetricKind kind,
                                               const std::vector<std::string>& labels) {
  const auto it = families_.find(name);
  if (it == families_.end()) {
    return families_.emplace(std::string(name), Entry{kind, nullptr, nullptr, nullptr}).first->second;
  }
  const Entry& e = it->second;
  const auto& existing = e.counter ? e.counter->labels()
                         : e.gauge ? e.gauge->labels()
                                   : e.histogram->labels();
  if (it->second.kind != kind || existing != labels)
    throw std::logic_error("metric " + std::string(name) + " registered twice with another kind or labels");
  return it->second;
}

CounterFamily& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                        std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  auto& e = entry(name, MetricKind::counter, labels);
  if (!e.counter)
    e.counter = std::make_unique<CounterFamily>(std::string(name), std::string(help), std::move(labels));
  return *e.counter;
}

GaugeFamily& MetricsRegistry::gauge(std::string_view name, std::string_view help,
                                    std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  auto& e = entry(name, MetricKind::gauge, labels);
  if (!e.gauge)
    e.gauge = std::make_unique<GaugeFamily>(std::string(name), std::string(help), std::move(labels));
  return *e.gauge;
}

HistogramFamily& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                            std::vector<double> buckets, std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  auto& e = entry(name, MetricKind::histogram, labels);
  if (!e.histogram)
    e.histogram = std::make_unique<HistogramFamily>(std::string(name), std::string(help), std::move(labels),
                                                    std::move(buckets));
  return *e.histogram;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

std::vector<double> duration_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200};
}

namespace {

// {a="x",b="y"} from label names and values, plus an optional extra pair (le for buckets).
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i] + "=\"" + escape_label_value(values[i]) + '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + '"';
  }
  return out + "}";
}

template <class F>
void header(std::string& out, const F& family, std::string_view type) {
  out += "# HELP " + family.name() + ' ' + escape_help(family.help()) + '\n';
  out += "# TYPE " + family.name() + ' ' + std::string(type) + '\n';
}

void expose_histogram(std::string& out, const HistogramFamily& f) {
  header(out, f, "histogram");
  f.each([&](const std::vector<std::string>& values, const Histogram& h) {
    const auto s = h.snapshot();
    for (std::size_t i = 0; i < s.upper_bounds.size(); ++i)
      out += f.name() + "_bucket" + label_set(f.labels(), values, "le", format_number(s.upper_bounds[i])) +
             ' ' + std::to_string(s.cumulative[i]) + '\n';
    out += f.name() + "_bucket" + label_set(f.labels(), values, "le", "+Inf") + ' ' +
           std::to_string(s.count) + '\n';
    out += f.name() + "_sum" + label_set(f.labels(), values) + ' ' + format_number(s.sum) + '\n';
    out += f.name() + "_count" + label_set(f.labels(), values) + ' ' + std::to_string(s.count) + '\n';
  });
}

}  // namespace

std::string MetricsRegistry::expose() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& family : families_) {
    // Named references rather than structured bindings: clang 14 (clang-tidy) cannot capture those.
    const std::string& name = family.first;
    const auto& e = family.second;
    if (e.counter) {
      header(out, *e.counter, "counter");
      e.counter->each([&](const std::vector<std::string>& values, const Counter& c) {
        out += name + label_set(e.counter->labels(), values) + ' ' + format_number(c.value()) + '\n';
      });
    } else if (e.gauge) {
      header(out, *e.gauge, "gauge");
      e.gauge->each([&](const std::vector<std::string>& values, const Gauge& g) {
        out += name + label_set(e.gauge->labels(), values) + ' ' + format_number(g.value()) + '\n';
      });
    } else if (e.histogram) {
      expose_histogram(out, *e.histogram);
    }
  }
  return out;
}

}  // namespace podid::core

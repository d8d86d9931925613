// render(): sums every worker's statistics into prometheus-cpp metric families and serializes.
#include "tern/metrics/exporter.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <deque>
#include <iterator>
#include <limits>
#include <vector>

#include "tern/metrics/process.hpp"

namespace tern::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

class Builder {
 public:
  MetricFamily& family(std::string name, std::string help, MetricType type) {
    families_.push_back({std::move(name), std::move(help), type, {}});
    return families_.back();
  }
  void counter(MetricFamily& f, double value, Labels labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    f.metric.push_back(std::move(m));
  }
  void gauge(MetricFamily& f, double value, Labels labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
  }
  std::vector<MetricFamily> take() { return {families_.begin(), families_.end()}; }

 private:
  std::deque<MetricFamily> families_;  // stable references while families are filled
};

constexpr const char* kTransportNames[] = {"udp", "tcp", "tls", "dtls"};
static_assert(std::size(kTransportNames) == core::kTransportCount);
constexpr const char* kFamilyNames[] = {"ipv4", "ipv6"};

// Sums of every worker's statistics; copied out once per scrape.
struct Totals {
  std::array<std::array<double, core::kStatCodes.size()>, 6> requests{};
  struct Histogram {
    std::array<std::uint64_t, core::kDurationBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::array<Histogram, 6> durations{};
  std::array<double, core::kStatCodes.size()> allocation_attempts{};
  std::array<double, 6> auth_failures{};
  double auth_challenges = 0;
  double moved = 0;
  double moved_in = 0;
  std::array<double, core::kDropNames.size()> dropped{};
  std::array<double, core::kTransportCount> binding{};
  std::array<std::array<double, 2>, core::kTransportCount> allocations_active{};
  std::vector<double> worker_allocations;  // in worker order
  double permissions = 0, channels = 0;
  std::array<double, 4> leg_packets{}, leg_bytes{};  // client rx, client tx, peer rx, peer tx

  void add(const core::ServerStats& s) {
    for (std::size_t m = 0; m < 6; ++m) {
      for (std::size_t c = 0; c < core::kStatCodes.size(); ++c) {
        requests[m][c] += static_cast<double>(s.requests[m][c].get());
      }
      for (std::size_t b = 0; b < core::kDurationBuckets.size(); ++b) {
        durations[m].buckets[b] += s.durations[m].buckets[b].get();
      }
      durations[m].count += s.durations[m].count.get();
      durations[m].sum += static_cast<double>(s.durations[m].sum_ns.get()) * 1e-9;
    }
    for (std::size_t c = 0; c < core::kStatCodes.size(); ++c) {
      allocation_attempts[c] += static_cast<double>(s.allocation_attempts[c].get());
    }
    for (std::size_t i = 0; i < 6; ++i)
      auth_failures[i] += static_cast<double>(s.auth_failures[i].get());
    auth_challenges += static_cast<double>(s.auth_challenges.get());
    moved += static_cast<double>(s.allocations_moved.get());
    moved_in += static_cast<double>(s.allocations_moved_in.get());
    for (std::size_t i = 0; i < dropped.size(); ++i)
      dropped[i] += static_cast<double>(s.dropped[i].get());
    double mine = 0;
    for (std::size_t t = 0; t < core::kTransportCount; ++t) {
      binding[t] += static_cast<double>(s.binding_requests[t].get());
      for (std::size_t f = 0; f < 2; ++f) {
        allocations_active[t][f] += static_cast<double>(s.allocations_active[t][f].get());
        mine += static_cast<double>(s.allocations_active[t][f].get());
      }
    }
    worker_allocations.push_back(mine);
    permissions += static_cast<double>(s.permissions_active.get());
    channels += static_cast<double>(s.channels_active.get());
    const core::LegCounters* legs[] = {&s.client_received, &s.client_sent, &s.peer_received,
                                       &s.peer_sent};
    for (std::size_t i = 0; i < 4; ++i) {
      leg_packets[i] += static_cast<double>(legs[i]->packets.get());
      leg_bytes[i] += static_cast<double>(legs[i]->bytes.get());
    }
  }
};

void add_traffic(Builder& b, const Totals& t) {
  auto& bytes = b.family("tern_relayed_bytes_total",
                         "Payload bytes relayed, by leg (client or peer) and direction.",
                         MetricType::Counter);
  auto& packets =
      b.family("tern_relayed_packets_total",
               "Packets relayed, by leg (client or peer) and direction.", MetricType::Counter);
  const char* leg[] = {"client", "client", "peer", "peer"};
  const char* direction[] = {"received", "sent", "received", "sent"};
  for (std::size_t i = 0; i < 4; ++i) {
    b.counter(bytes, t.leg_bytes[i], {{"direction", direction[i]}, {"leg", leg[i]}});
    b.counter(packets, t.leg_packets[i], {{"direction", direction[i]}, {"leg", leg[i]}});
  }
  auto& dropped =
      b.family("tern_dropped_packets_total", "Packets dropped, by reason.", MetricType::Counter);
  for (std::size_t i = 0; i < core::kDropNames.size(); ++i) {
    b.counter(dropped, t.dropped[i], {{"reason", std::string(core::kDropNames[i])}});
  }
}

void add_requests(Builder& b, const Totals& t) {
  auto& requests =
      b.family("tern_requests_total", "STUN/TURN requests answered, by method and response code.",
               MetricType::Counter);
  for (std::size_t m = 0; m < 6; ++m) {
    for (std::size_t c = 0; c < core::kStatCodes.size(); ++c) {
      const std::uint16_t code = core::kStatCodes[c];
      // Keep the exposition short: other series appear on first use.
      if (t.requests[m][c] == 0 && code != 200 && code != 401) continue;
      if (t.requests[m][c] == 0 && m == 0 && code == 401) continue;  // Binding needs no auth
      b.counter(requests, t.requests[m][c],
                {{"code", std::to_string(core::kStatCodes[c])},
                 {"method", std::string(core::kStatMethodNames[m])}});
    }
  }
  auto& durations = b.family("tern_request_duration_seconds",
                             "Time to handle a TURN request, by method.", MetricType::Histogram);
  for (std::size_t m = 1; m < 5; ++m) {  // allocate, refresh, create_permission, channel_bind
    ClientMetric metric;
    metric.label = {{"method", std::string(core::kStatMethodNames[m])}};
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < core::kDurationBuckets.size(); ++i) {
      cumulative += t.durations[m].buckets[i];
      metric.histogram.bucket.push_back({cumulative, core::kDurationBuckets[i]});
    }
    metric.histogram.bucket.push_back(
        {t.durations[m].count, std::numeric_limits<double>::infinity()});
    metric.histogram.sample_count = t.durations[m].count;
    metric.histogram.sample_sum = t.durations[m].sum;
    durations.metric.push_back(std::move(metric));
  }
  auto& attempts = b.family("tern_allocation_attempts_total",
                            "Allocate requests answered, by result.", MetricType::Counter);
  for (std::size_t c = 0; c < core::kStatCodes.size(); ++c) {
    if (t.allocation_attempts[c] == 0 && c != 0) continue;
    b.counter(attempts, t.allocation_attempts[c],
              {{"result", std::string(core::allocation_result_name(core::kStatCodes[c]))}});
  }
  auto& failures =
      b.family("tern_auth_failures_total",
               "Requests that failed long-term authentication, by reason.", MetricType::Counter);
  for (std::size_t i = 0; i < core::kAuthFailureNames.size(); ++i) {
    b.counter(failures, t.auth_failures[i], {{"reason", std::string(core::kAuthFailureNames[i])}});
  }
  b.counter(b.family("tern_auth_challenges_total",
                     "401 challenges to requests without credentials (the normal first step).",
                     MetricType::Counter),
            t.auth_challenges);
  b.counter(b.family("tern_allocations_moved_total",
                     "Allocations a client moved to a new address with its mobility ticket.",
                     MetricType::Counter),
            t.moved);
  b.counter(b.family("tern_allocations_moved_between_workers_total",
                     "Moved allocations that came over from another worker.", MetricType::Counter),
            t.moved_in);
  auto& binding = b.family("tern_binding_requests_total", "STUN Binding requests, by transport.",
                           MetricType::Counter);
  for (std::size_t i = 0; i < core::kTransportCount; ++i)
    b.counter(binding, t.binding[i], {{"transport", kTransportNames[i]}});
}

void add_state(Builder& b, const Totals& t, const Sources& s) {
  auto& active = b.family("tern_allocations_active", "Live allocations, by transport and family.",
                          MetricType::Gauge);
  for (std::size_t tr = 0; tr < core::kTransportCount; ++tr) {
    for (std::size_t f = 0; f < 2; ++f) {
      b.gauge(active, t.allocations_active[tr][f],
              {{"family", kFamilyNames[f]}, {"transport", kTransportNames[tr]}});
    }
  }
  if (s.steering_pins_refused) {
    b.counter(b.family("tern_udp_steering_pins_refused_total",
                       "UDP clients with an allocation that the steering table had no room for "
                       "(their datagrams follow placement, not their worker).",
                       MetricType::Counter),
              static_cast<double>(s.steering_pins_refused()));
  }
  if (s.multiplexed_peers) {
    b.gauge(b.family("tern_relay_multiplexed_peers",
                     "Peer addresses claimed by allocations on the workers' shared relay sockets "
                     "(relay.multiplex_port).",
                     MetricType::Gauge),
            static_cast<double>(s.multiplexed_peers()));
  }
  if (s.offload_bindings) {
    b.gauge(b.family("tern_offload_bindings",
                     "Channel bindings the kernel relays without tern (relay.offload); their "
                     "traffic is counted in tern_relayed_* like any other.",
                     MetricType::Gauge),
            static_cast<double>(s.offload_bindings()));
  }
  auto& per_worker = b.family("tern_worker_allocations",
                              "Live allocations, by worker (steering.mode: pack fills the first).",
                              MetricType::Gauge);
  for (std::size_t w = 0; w < t.worker_allocations.size(); ++w) {
    b.gauge(per_worker, t.worker_allocations[w], {{"worker", std::to_string(w)}});
  }
  b.gauge(b.family("tern_permissions_active", "Live permissions (as of the last sweep).",
                   MetricType::Gauge),
          t.permissions);
  b.gauge(b.family("tern_channels_active", "Live channel bindings (as of the last sweep).",
                   MetricType::Gauge),
          t.channels);
  auto& in_use =
      b.family("tern_relay_ports_in_use",
               "Relay ports held by allocations or reservations, by family.", MetricType::Gauge);
  auto& available = b.family("tern_relay_ports_available",
                             "Relay ports free for new allocations, by family.", MetricType::Gauge);
  const protocol::Family families[] = {protocol::Family::kIPv4, protocol::Family::kIPv6};
  for (std::size_t f = 0; f < (s.relay_ipv6 ? 2u : 1u); ++f) {
    const double used =
        s.relay_ports_in_use ? static_cast<double>(s.relay_ports_in_use(families[f])) : 0;
    const double free =
        s.relay_ports_available ? static_cast<double>(s.relay_ports_available(families[f])) : 0;
    b.gauge(in_use, used, {{"family", kFamilyNames[f]}});
    b.gauge(available, free, {{"family", kFamilyNames[f]}});
  }
  auto& connections = b.family(
      "tern_connections_active",
      "Open TCP and TLS client connections, and DTLS associations from a verified cookie on.",
      MetricType::Gauge);
  for (const auto transport :
       {core::Transport::kTcp, core::Transport::kTls, core::Transport::kDtls}) {
    b.gauge(connections,
            static_cast<double>(s.connections_active ? s.connections_active(transport) : 0),
            {{"transport", kTransportNames[static_cast<std::size_t>(transport)]}});
  }
  auto& refused =
      b.family("tern_connections_refused_total",
               "TCP and TLS connections closed as soon as they were accepted, by reason.",
               MetricType::Counter);
  if (s.connections_refused) {
    for (const auto& [reason, count] : s.connections_refused()) {
      b.counter(refused, static_cast<double>(count), {{"reason", reason}});
    }
  }
}

void add_operations(Builder& b, const Sources& s) {
  b.gauge(b.family("tern_build_info", "Always 1; the version is a label.", MetricType::Gauge), 1,
          {{"version", s.version}});
  auto& reloads = b.family("tern_config_reloads_total", "Configuration reloads, by result.",
                           MetricType::Counter);
  b.counter(reloads, s.reloads_succeeded ? static_cast<double>(s.reloads_succeeded->load()) : 0,
            {{"result", "success"}});
  b.counter(reloads, s.reloads_failed ? static_cast<double>(s.reloads_failed->load()) : 0,
            {{"result", "failure"}});
  b.gauge(b.family("tern_config_last_reload_success_timestamp_seconds",
                   "When the configuration in force was loaded (start-up or reload).",
                   MetricType::Gauge),
          s.last_reload_success ? static_cast<double>(s.last_reload_success->load()) : 0);
  if (const auto expiry = s.tls_certificate_expiry ? s.tls_certificate_expiry() : std::nullopt) {
    b.gauge(b.family("tern_tls_certificate_expiry_timestamp_seconds",
                     "notAfter of the TLS certificate in use.", MetricType::Gauge),
            static_cast<double>(*expiry));
  }
  b.gauge(b.family("tern_users_loaded", "Static users loaded.", MetricType::Gauge),
          static_cast<double>(s.users_loaded ? s.users_loaded() : 0));
  b.gauge(
      b.family("tern_secrets_loaded", "TURN REST API shared secrets loaded.", MetricType::Gauge),
      static_cast<double>(s.secrets_loaded ? s.secrets_loaded() : 0));
  const ProcessStats p = read_process_stats();
  b.counter(b.family("process_cpu_seconds_total", "User and system CPU time spent in seconds.",
                     MetricType::Counter),
            p.cpu_seconds);
  b.gauge(b.family("process_resident_memory_bytes", "Resident memory size in bytes.",
                   MetricType::Gauge),
          p.resident_bytes);
  b.gauge(
      b.family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge),
      p.virtual_bytes);
  b.gauge(b.family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge),
          p.open_fds);
  b.gauge(
      b.family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge),
      p.max_fds);
  b.gauge(b.family("process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.", MetricType::Gauge),
          p.start_time_seconds);
}

}  // namespace

std::string render(const Sources& sources) {
  Totals totals;
  if (sources.for_each_worker) {
    sources.for_each_worker([&](const core::ServerStats& s) { totals.add(s); });
  }
  Builder b;
  add_operations(b, sources);
  add_state(b, totals, sources);
  add_requests(b, totals);
  add_traffic(b, totals);
  return prometheus::TextSerializer().Serialize(b.take());
}

}  // namespace tern::metrics

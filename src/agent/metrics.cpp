// What the agent's /metrics shows beyond the process's own measurements: the instances it runs,
// with the figures of their last probe (fresher than the status records it publishes), and
// whether it is fenced or without dockerd.
#include "agent/agent.hpp"
#include "metrics/berth.hpp"

namespace berth::agent {

void Agent::collect_metrics(metrics::Registry& out) const {
  auto& supervisors = reconciler_.supervisors();
  for (auto& [key, s] : supervisors)
    if (s->status().state != model::InstanceState::none)
      metrics::collect_instance(out, s->allocation(), s->status());
  metrics::Labels host{{"host", options_.name}};
  out.gauge("berth_agent_registered", "1 while the agent holds its host's lease.", host)
      .set(session_.lease() != 0 ? 1 : 0);
  out.gauge("berth_agent_fenced", "1 while the agent has fenced its primaries (out of touch).",
            host)
      .set(session_.fenced() ? 1 : 0);
  out.gauge("berth_agent_docker_up", "1 while dockerd answers the agent.", host)
      .set(session_.docker_up() ? 1 : 0);
  out.gauge("berth_agent_instances", "Instances the agent runs.", host)
      .set(static_cast<double>(supervisors.size()));
}

}  // namespace berth::agent

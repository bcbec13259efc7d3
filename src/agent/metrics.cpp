// What the agent's /metrics shows beyond the process's own measurements: the instances it runs,
// with the figures of their last probe (fresher than the status records it publishes), and
// whether it is fenced or without dockerd.
#include "agent/agent.hpp"
#include "agent/instance.hpp"
#include "metrics/berth.hpp"

namespace berth::agent {

void Agent::collect_metrics(metrics::Registry& out) const {
  for (auto& [key, instance] : instances_)
    if (!instance->stopped && instance->status.state != model::InstanceState::none)
      metrics::collect_instance(out, instance->allocation, instance->status);
  metrics::Labels host{{"host", options_.name}};
  out.gauge("berth_agent_registered", "1 while the agent holds its host's lease.", host)
      .set(lease_ != 0 ? 1 : 0);
  out.gauge("berth_agent_fenced", "1 while the agent has fenced its primaries (out of touch).",
            host)
      .set(fenced_ ? 1 : 0);
  out.gauge("berth_agent_docker_up", "1 while dockerd answers the agent.", host)
      .set(docker_down_ ? 0 : 1);
  out.gauge("berth_agent_instances", "Instances the agent runs.", host)
      .set(static_cast<double>(instances_.size()));
}

}  // namespace berth::agent
